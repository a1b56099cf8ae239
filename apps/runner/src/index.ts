export { createRunner, type Runner, type RunnerOptions } from './runner';
export {
  ConfigError,
  configJsonSchema,
  configNotes,
  configSecrets,
  locateConfig,
  parseConfig,
  readConfigFile,
  retryPolicy,
  type ConfigInput,
  type ConfigLocation,
  type RunnerConfig,
} from './config';
export {
  AdminService,
  InputError,
  type AdminServiceDeps,
  type DestinationView,
  type EventView,
  type Page,
  type PreviewResult,
} from './admin';
export { CLI_TOKENS, createCliContainer, createRunnerContainer, RUNNER_TOKENS, type DispatcherTuning } from './container';
export { destinationPlugins, sourcePlugins } from './plugins';
export { ServiceContainer, type Needs, type Resolved } from './service-container';
export { START_ORDER, startInOrder, type StartStep } from './start-order';
export { runCli, type CliIo } from './cli';
