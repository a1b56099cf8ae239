import type { Tree } from '@nx/devkit';

/** The runner's plugin registry, and its package manifest: what a generator edits besides its new library. */
export const RUNNER_REGISTRY = 'apps/runner/src/plugins.ts';
export const RUNNER_PACKAGE = 'apps/runner/package.json';

/** A plugin id, folder and package name. */
export const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
// Safe inside the templates' quoted strings and Markdown as is.
export const DISPLAY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 .()-]*$/;

/** The name and display name a generator was given, checked: a refused run must change nothing. */
export function checkedNames(schema: { readonly name: string; readonly displayName?: string }, examples: string): { displayName: string } {
  if (!NAME_PATTERN.test(schema.name)) throw new Error(`name: "${schema.name}" must be lower-case kebab-case, e.g. ${examples}`);
  const displayName = schema.displayName ?? titleCase(schema.name);
  if (!DISPLAY_NAME_PATTERN.test(displayName)) {
    throw new Error(`displayName: "${displayName}" may hold only letters, digits, spaces and . - ( )`);
  }
  return { displayName };
}

/** The folders npm's workspaces are read from (the root package.json's `workspaces`). */
const WORKSPACE_FOLDERS = ['libs', 'libs/sources', 'libs/destinations', 'apps', 'tools'];

/** Refuses a package name a workspace already has (`@ferry/testkit`), wherever its folder is. */
export function checkPackageFree(tree: Tree, packageName: string): void {
  for (const parent of WORKSPACE_FOLDERS) {
    for (const folder of tree.children(parent)) {
      const manifest = tree.read(`${parent}/${folder}/package.json`, 'utf-8');
      if (manifest !== null && (JSON.parse(manifest) as { name?: unknown }).name === packageName) {
        throw new Error(`${parent}/${folder} is already the package ${packageName}: choose another name`);
      }
    }
  }
}

export function readRegistry(tree: Tree): string {
  const text = tree.read(RUNNER_REGISTRY, 'utf-8');
  if (text === null) throw new Error(`${RUNNER_REGISTRY} not found: the runner's plugin list is where new plugins are registered`);
  return text;
}

/**
 * Adds `import { pluginName } from 'packageName'` after the last import and appends the plugin to the
 * registry's `export const <list>: readonly <Type>[] = [ … ];`, keeping the list's layout.
 */
export function registerPlugin(source: string, list: string, packageName: string, pluginName: string): string {
  const declaration = new RegExp(`(export const ${list}: readonly [\\w<>, ]+\\[\\] = \\[)([^\\]]*)(\\];)`);
  const found = declaration.exec(source);
  if (!found) throw new Error(`${RUNNER_REGISTRY} does not declare \`export const ${list}: readonly …[] = [ … ];\``);
  const entries = found[2]
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.includes(pluginName)) throw new Error(`${pluginName} is already registered in ${RUNNER_REGISTRY}`);
  // One line stays one line, one entry per line stays so.
  const inner = found[2].includes('\n')
    ? `${found[2].trimEnd().replace(/,?$/, ',')}\n  ${pluginName},\n`
    : [...entries, pluginName].join(', ');
  const withEntry = source.replace(declaration, (_all, open: string, _inner, close: string) => `${open}${inner}${close}`);

  const imports = [...withEntry.matchAll(/^import [^;]+;$/gm)];
  const last = imports[imports.length - 1];
  const at = last ? last.index + last[0].length : 0;
  const line = `import { ${pluginName} } from '${packageName}';`;
  return last ? `${withEntry.slice(0, at)}\n${line}${withEntry.slice(at)}` : `${line}\n${withEntry}`;
}

export interface PackageJson {
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

export function readRunnerPackage(tree: Tree): PackageJson {
  const text = tree.read(RUNNER_PACKAGE, 'utf-8');
  if (text === null) throw new Error(`${RUNNER_PACKAGE} not found`);
  return JSON.parse(text) as PackageJson;
}

/** A copy of the manifest with `packageName` among the runner's dependencies, next to the other @ferry ones. */
export function addDependency(manifest: PackageJson, packageName: string): PackageJson {
  const entries = Object.entries(manifest.dependencies ?? {});
  if (entries.some(([name]) => name === packageName)) throw new Error(`${RUNNER_PACKAGE} already depends on ${packageName}`);
  const lastFerry = entries.reduce((found, [name], index) => (name.startsWith('@ferry/') ? index : found), -1);
  entries.splice(lastFerry + 1, 0, [packageName, '*']);
  return { ...manifest, dependencies: Object.fromEntries(entries) };
}

export function titleCase(kebab: string): string {
  return kebab
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}
