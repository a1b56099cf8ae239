export { destinationGenerator, type DestinationGeneratorSchema } from './destination/generator';
export { sourceGenerator, type SourceGeneratorSchema } from './source/generator';
export { RUNNER_PACKAGE, RUNNER_REGISTRY } from './registry';
