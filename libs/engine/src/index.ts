export { Dispatcher, releaseCrashedLeases, type DispatcherDeps } from './dispatcher';
export { erasureMissingConfigOf, missingConfigOf, secretValues, type DestinationInstance } from './instance';
export {
  DEFAULT_DISPATCHER_OPTIONS,
  combineObservers,
  LEASE_PER_TIMEOUT,
  PAUSE_CAUSES,
  type PauseCause,
  type DestinationStatus,
  type DispatcherOptions,
  type EngineObserver,
} from './options';
export { ROUTE_FILTER_FIELDS, ROUTE_RULE, routeSkip, unreachableRouteParts, wildcardPattern, type Route, type RouteFilter } from './route';
export { planDeliveries, previewDeliveries, PREVIEW_DELIVERY_ID, type DestinationPreview, type PreviewContext } from './plan';
export { UndiciTransport, type UndiciTransportOptions } from './transport';
export { composeStore, type ComposeStoreOptions } from './store/compose-store';
export { ErasureWorker, type ErasureOutcome, type ErasureWorkerDeps, type ErasureWorkerOptions } from './erasure-worker';
