export { destinationGenerator } from './destination/generator';
export { sourceGenerator } from './source/generator';
export { RUNNER_PACKAGE, RUNNER_REGISTRY } from './registry';
export type { PluginSchema } from './scaffold';
