import { formatFiles, generateFiles, logger, names, type GeneratorCallback, type Tree } from '@nx/devkit';
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
} from './registry';

export interface PluginSchema {
  /** Plugin id and folder name, lower-case kebab-case. */
  readonly name: string;
  /** Name shown to operators; defaults to the name in Title Case. */
  readonly displayName?: string;
}

/** What differs between scaffolding a source and a destination. */
export interface PluginKind {
  /** Under `libs/`: `sources` or `destinations`. */
  readonly folder: string;
  /** Under `files/`: the templates. */
  readonly templates: string;
  /** The registry's list the plugin joins (`sourcePlugins`). */
  readonly registryList: string;
  /** The plugin constant's suffix: `stripeSource`, `mixPanelPlugin`. */
  readonly constantSuffix: string;
  /** Names to show in the error for a bad one. */
  readonly exampleNames: string;
}

/**
 * Scaffolds `libs/<folder>/<name>` from the kind's templates and registers the plugin with the runner. The
 * tree is only written when every check passed, so a refused run changes nothing. What it writes is formatted
 * with the project's Prettier, so the registry stays as `npm test` checks it however long its lists grow.
 */
export async function scaffoldPlugin(tree: Tree, schema: PluginSchema, kind: PluginKind): Promise<GeneratorCallback> {
  const { displayName } = checkedNames(schema, kind.exampleNames);
  const { fileName, propertyName, className, constantName } = names(schema.name);
  const root = `libs/${kind.folder}/${fileName}`;
  if (tree.exists(root)) throw new Error(`${root} already exists`);
  const packageName = `@ferry/${fileName}`;
  checkPackageFree(tree, packageName);
  const pluginName = `${propertyName}${kind.constantSuffix}`;

  const registry = registerPlugin(readRegistry(tree), kind.registryList, packageName, pluginName);
  const runnerPackage = addDependency(readRunnerPackage(tree), packageName);

  generateFiles(tree, path.join(__dirname, '..', 'files', kind.templates), root, {
    name: fileName,
    propertyName,
    className,
    constantName,
    displayName,
  });
  tree.write(RUNNER_REGISTRY, registry);
  tree.write(RUNNER_PACKAGE, `${JSON.stringify(runnerPackage, null, 2)}\n`);
  await formatFiles(tree);

  return () => {
    logger.info(`Created ${root} and registered ${pluginName} in ${RUNNER_REGISTRY}.`);
    logger.info(`Next: run \`npm install\` to link ${packageName} into node_modules (and record it in package-lock.json),`);
    logger.info(`then \`npx nx run-many -t build lint typecheck test -p ${fileName}\`.`);
  };
}
