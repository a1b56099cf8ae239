export { postWebhooks, type LoadFigures, type WebhookLoad } from './load';
export { fillStore, storedEvents, type FillFigures } from './store-fill';
export { ServiceProcess, RUNNER_MAIN, type ServiceOptions } from './processes';
export { percentile, summarize, type LatencySummary } from './stats';
