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
export { createRunnerContainer, offeredPlugins, RUNNER_TOKENS, type DispatcherTuning } from './container';
export { pluginModules } from './plugins';
export { runCli, type CliIo } from './cli';
