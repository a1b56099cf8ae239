export { destinationGenerator, RUNNER_PACKAGE, RUNNER_REGISTRY, type DestinationGeneratorSchema } from './destination/generator';
