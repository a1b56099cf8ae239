export { createRunner, type Runner, type RunnerOptions } from './runner';
export {
  ConfigError,
  configJsonSchema,
  configNotes,
  locateConfig,
  parseConfig,
  readConfigFile,
  retryPolicy,
  type ConfigInput,
  type ConfigLocation,
  type RunnerConfig,
} from './config';
export { configSecrets } from './config-secrets';
export { CONFIG_TABLE_END, CONFIG_TABLE_START, configTable, withConfigTable } from './config-table';
export { DESTINATIONS_TABLE_END, DESTINATIONS_TABLE_START, destinationsTable, withDestinationsTable } from './destinations-table';
export {
  AdminService,
  ConflictError,
  InputError,
  NotFoundError,
  adminApiDocument,
  type AdminDeps,
  type DestinationView,
  type EventView,
} from './admin';
export { CONSOLE_TYPES_FILE, consoleTypes } from './admin/console-types';
export { CLI_TOKENS, createCliContainer, createRunnerContainer, RUNNER_TOKENS, type DispatcherTuning } from './container';
export { destinationPlugins, sourcePlugins } from './plugins';
export { ServiceContainer, type Needs, type Resolved } from './service-container';
export { START_ORDER, startInOrder, type StartStep } from './start-order';
export { runCli, type CliIo } from './cli';
