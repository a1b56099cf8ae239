import { generateFiles, logger, names, type GeneratorCallback, type Tree } from '@nx/devkit';
import * as path from 'node:path';

export interface DestinationGeneratorSchema {
  /** Plugin id and folder name, lower-case kebab-case. */
  readonly name: string;
  /** Name shown to operators; defaults to the name in Title Case. */
  readonly displayName?: string;
}

/** The runner's plugin registry, and its package manifest. */
export const RUNNER_REGISTRY = 'apps/runner/src/plugins.ts';
export const RUNNER_PACKAGE = 'apps/runner/package.json';

const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
// Safe inside the templates' quoted strings and Markdown as is.
const DISPLAY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 .()-]*$/;
const REGISTRY_ARRAY = /(export const destinationPlugins: readonly AnyDestinationPlugin\[\] = \[)([^\]]*)(\];)/;
const TEMPLATES = path.join(__dirname, '..', '..', 'files');

/**
 * `nx g @ferry/tools:destination <name>`: scaffolds `libs/destinations/<name>` and registers it with the
 * runner. The tree is only written when every check passed, so a refused run changes nothing.
 */
export async function destinationGenerator(tree: Tree, schema: DestinationGeneratorSchema): Promise<GeneratorCallback> {
  if (!NAME_PATTERN.test(schema.name)) {
    throw new Error(`name: "${schema.name}" must be lower-case kebab-case, e.g. "amplitude" or "mix-panel"`);
  }
  const displayName = schema.displayName ?? titleCase(schema.name);
  if (!DISPLAY_NAME_PATTERN.test(displayName)) {
    throw new Error(`displayName: "${displayName}" may hold only letters, digits, spaces and . - ( )`);
  }
  const { fileName, propertyName, className, constantName } = names(schema.name);
  const root = `libs/destinations/${fileName}`;
  if (tree.exists(root)) throw new Error(`${root} already exists`);
  const packageName = `@ferry/${fileName}`;
  const pluginName = `${propertyName}Plugin`;

  const registry = registerPlugin(readRegistry(tree), packageName, pluginName);
  const runnerPackage = addDependency(readRunnerPackage(tree), packageName);

  generateFiles(tree, TEMPLATES, root, {
    name: fileName,
    propertyName,
    className,
    constantName,
    displayName,
  });
  tree.write(RUNNER_REGISTRY, registry);
  tree.write(RUNNER_PACKAGE, `${JSON.stringify(runnerPackage, null, 2)}\n`);

  return () => {
    logger.info(`Created ${root} and registered ${pluginName} in ${RUNNER_REGISTRY}.`);
    logger.info(`Next: run \`npm install\` to link ${packageName} into node_modules (and record it in package-lock.json),`);
    logger.info(`then \`npx nx run-many -t build lint typecheck test -p ${fileName}\`.`);
  };
}

export default destinationGenerator;

function readRegistry(tree: Tree): string {
  const text = tree.read(RUNNER_REGISTRY, 'utf-8');
  if (text === null) throw new Error(`${RUNNER_REGISTRY} not found: the runner's plugin list is where new destinations are registered`);
  return text;
}

/** Adds `import { pluginName } from 'packageName'` after the last import and appends the plugin to `destinationPlugins`. */
function registerPlugin(source: string, packageName: string, pluginName: string): string {
  const list = REGISTRY_ARRAY.exec(source);
  if (!list) {
    throw new Error(`${RUNNER_REGISTRY} does not declare \`export const destinationPlugins: readonly AnyDestinationPlugin[] = [ … ];\``);
  }
  const entries = list[2]
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.includes(pluginName)) throw new Error(`${pluginName} is already registered in ${RUNNER_REGISTRY}`);
  // Keep the list's layout: one line stays one line, one entry per line stays so.
  const inner = list[2].includes('\n')
    ? `${list[2].trimEnd().replace(/,?$/, ',')}\n  ${pluginName},\n`
    : [...entries, pluginName].join(', ');
  const withEntry = source.replace(REGISTRY_ARRAY, (_all, open: string, _inner, close: string) => `${open}${inner}${close}`);

  const imports = [...withEntry.matchAll(/^import [^;]+;$/gm)];
  const last = imports[imports.length - 1];
  const at = last ? last.index + last[0].length : 0;
  const line = `import { ${pluginName} } from '${packageName}';`;
  return last ? `${withEntry.slice(0, at)}\n${line}${withEntry.slice(at)}` : `${line}\n${withEntry}`;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

function readRunnerPackage(tree: Tree): PackageJson {
  const text = tree.read(RUNNER_PACKAGE, 'utf-8');
  if (text === null) throw new Error(`${RUNNER_PACKAGE} not found`);
  return JSON.parse(text) as PackageJson;
}

/** A copy of the manifest with `packageName` among the runner's dependencies, next to the other @ferry ones. */
function addDependency(manifest: PackageJson, packageName: string): PackageJson {
  const entries = Object.entries(manifest.dependencies ?? {});
  if (entries.some(([name]) => name === packageName)) throw new Error(`${RUNNER_PACKAGE} already depends on ${packageName}`);
  const lastFerry = entries.reduce((found, [name], index) => (name.startsWith('@ferry/') ? index : found), -1);
  entries.splice(lastFerry + 1, 0, [packageName, '*']);
  return { ...manifest, dependencies: Object.fromEntries(entries) };
}

function titleCase(kebab: string): string {
  return kebab
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}
