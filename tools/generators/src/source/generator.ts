import { generateFiles, logger, names, type GeneratorCallback, type Tree } from '@nx/devkit';
import * as path from 'node:path';
import {
  RUNNER_PACKAGE,
  RUNNER_REGISTRY,
  addDependency,
  checkPackageFree,
  checkedNames,
  readRegistry,
  readRunnerPackage,
  registerPlugin,
} from '../registry';

export interface SourceGeneratorSchema {
  /** Plugin id and folder name, lower-case kebab-case. */
  readonly name: string;
  /** Name shown to operators; defaults to the name in Title Case. */
  readonly displayName?: string;
}

const TEMPLATES = path.join(__dirname, '..', '..', 'files', 'source');

/**
 * `nx g @ferry/tools:source <name>`: scaffolds `libs/sources/<name>`, a working source for a small JSON
 * webhook with a bearer token, and registers it with the runner. The tree is only written when every
 * check passed, so a refused run changes nothing.
 */
export async function sourceGenerator(tree: Tree, schema: SourceGeneratorSchema): Promise<GeneratorCallback> {
  const { displayName } = checkedNames(schema, '"app-store" or "stripe"');
  const { fileName, propertyName, className, constantName } = names(schema.name);
  const root = `libs/sources/${fileName}`;
  if (tree.exists(root)) throw new Error(`${root} already exists`);
  const packageName = `@ferry/${fileName}`;
  checkPackageFree(tree, packageName);
  const pluginName = `${propertyName}Source`;

  const registry = registerPlugin(readRegistry(tree), 'sourcePlugins', packageName, pluginName);
  const runnerPackage = addDependency(readRunnerPackage(tree), packageName);

  generateFiles(tree, TEMPLATES, root, { name: fileName, propertyName, className, constantName, displayName });
  tree.write(RUNNER_REGISTRY, registry);
  tree.write(RUNNER_PACKAGE, `${JSON.stringify(runnerPackage, null, 2)}\n`);

  return () => {
    logger.info(`Created ${root} and registered ${pluginName} in ${RUNNER_REGISTRY}.`);
    logger.info(`Next: run \`npm install\` to link ${packageName} into node_modules (and record it in package-lock.json),`);
    logger.info(`then \`npx nx run-many -t build lint typecheck test -p ${fileName}\`.`);
  };
}

export default sourceGenerator;
