import type { GeneratorCallback, Tree } from '@nx/devkit';
import { scaffoldPlugin, type PluginSchema } from '../scaffold';

/**
 * `nx g @ferry/tools:source <name>`: scaffolds `libs/sources/<name>`, a working source for a small JSON
 * webhook with a bearer token, and registers it with the runner.
 */
export async function sourceGenerator(tree: Tree, schema: PluginSchema): Promise<GeneratorCallback> {
  return scaffoldPlugin(tree, schema, {
    folder: 'sources',
    templates: 'source',
    registryList: 'sourcePlugins',
    constantSuffix: 'Source',
    exampleNames: '"app-store" or "stripe"',
  });
}

export default sourceGenerator;
