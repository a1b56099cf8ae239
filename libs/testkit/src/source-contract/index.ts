export { describeSourceContract } from './describe';
export { SOURCE_CONTRACT_SUITES, type InvalidBodyCase, type SourceContractOptions, type SourceContractSuite } from './options';
export { eventProblems } from './support';
