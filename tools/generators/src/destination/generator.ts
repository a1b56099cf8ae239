import type { GeneratorCallback, Tree } from '@nx/devkit';
import { scaffoldPlugin, type PluginSchema } from '../scaffold';

/** `nx g @ferry/tools:destination <name>`: scaffolds `libs/destinations/<name>` and registers it with the runner. */
export async function destinationGenerator(tree: Tree, schema: PluginSchema): Promise<GeneratorCallback> {
  return scaffoldPlugin(tree, schema, {
    folder: 'destinations',
    templates: 'destination',
    registryList: 'destinationPlugins',
    constantSuffix: 'Plugin',
    exampleNames: '"amplitude" or "mix-panel"',
  });
}

export default destinationGenerator;
