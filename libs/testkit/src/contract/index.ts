export { describeDestinationContract } from './describe';
export { describeGoldenCatalogue, type GoldenCatalogue, type GoldenExpectation, type GoldenSend } from './golden';
export {
  CONTRACT_SUITES,
  type ContractConnectionCheck,
  type ContractErasure,
  type ContractResponses,
  type ContractSubscriptionState,
  type ContractSuite,
  type DestinationContractOptions,
  type InvalidSettingsCase,
  type PartialResponse,
} from './options';
export { guardNetwork, type NetworkGuard } from './network-guard';
export { findSecret, type KnownSecret } from './secret-search';
export { KIT_REQUEST_CONTEXT } from './support';
