import { readProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RUNNER_PACKAGE, RUNNER_REGISTRY } from '../registry';
import { destinationGenerator } from './generator';

// The runner's registry as its owner writes it (the shape the generator must understand).
const REGISTRY = `import type { AnyDestinationPlugin, SourcePlugin } from '@ferry/core';
import { revenueCatSource } from '@ferry/revenuecat';
import { clevertapPlugin } from '@ferry/clevertap';
// The one place that knows which plugins exist; \`nx g @ferry/tools:destination\` adds new destinations here.
export const sourcePlugins: readonly SourcePlugin[] = [revenueCatSource];
export const destinationPlugins: readonly AnyDestinationPlugin[] = [clevertapPlugin];
`;
const RUNNER_MANIFEST = {
  name: '@ferry/runner',
  dependencies: { '@ferry/core': '*', '@ferry/clevertap': '*', '@ferry/engine': '*', fastify: '*' },
  devDependencies: { '@ferry/testkit': '*' },
};
const REPO = path.resolve(__dirname, '../../../..');
const SCAFFOLD = ['package.json', 'project.json', 'tsconfig.lib.json', 'tsconfig.spec.json', 'jest.config.cjs'];
// Named as in the real plugins, which have every one of these files.
const SOURCES = ['index', 'capabilities', 'settings', 'hooks', 'requests', 'responses', 'plugin', 'contract.spec', 'readme.spec'];

function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  // No formatter here (Nx's empty workspace configures oxfmt): check-generator.sh checks the formatting on the real tree.
  tree.delete('.oxfmtrc.json');
  tree.write(RUNNER_REGISTRY, REGISTRY);
  tree.write(RUNNER_PACKAGE, JSON.stringify(RUNNER_MANIFEST, null, 2));
  return tree;
}

const read = (tree: Tree, file: string) => tree.read(file, 'utf-8') ?? '';
const changes = (tree: Tree) => tree.listChanges().map((change) => [change.path, change.content?.toString()]);

describe('destination generator', () => {
  it('creates the library with every part a destination needs', async () => {
    const tree = workspace();
    await destinationGenerator(tree, { name: 'acme' });
    const root = 'libs/destinations/acme';
    const files = ['README.md', ...SCAFFOLD, ...SOURCES.map((f) => `src/${f}.ts`)];
    for (const file of files) expect(tree.exists(`${root}/${file}`)).toBe(true);
    for (const file of tree.children(`${root}/src`)) expect(read(tree, `${root}/src/${file}`)).not.toMatch(/<%|%>|__\w+__/);
    expect(JSON.parse(read(tree, `${root}/package.json`)).name).toBe('@ferry/acme');
    expect(read(tree, `${root}/src/plugin.ts`)).toContain("id: 'acme',");
    expect(read(tree, `${root}/src/settings.ts`)).toContain("apiKey: secret(z.string()).optional().describe('Acme API key.");
    expect(read(tree, `${root}/src/plugin.ts`)).toContain('secrets: secretSettingKeys(AcmeSettings),');
    expect(read(tree, `${root}/README.md`)).toMatch(
      /<!-- settings-table:start [^\n]*-->\n\| key \| type \| default \| secret \| description \|\n/,
    );
    expect(read(tree, `${root}/README.md`)).toContain('| `apiKey` | string |  | yes | Acme API key.');
  });

  it('starts from the core helpers the real plugins use', async () => {
    const tree = workspace();
    await destinationGenerator(tree, { name: 'acme' });
    const src = (file: string) => read(tree, `libs/destinations/acme/src/${file}.ts`);
    expect(src('capabilities')).toContain('kinds: revenueCatKinds(');
    expect(src('settings')).toContain('endpoint: BaseUrl.optional()');
    expect(src('settings')).toContain("whenFieldsValid('eventNames')");
    expect(src('hooks')).toContain("export const { filter, eventName } = standardEventHooks<AcmeSettings>('acme', capabilities, {");
    expect(src('settings')).toContain('isSet(settings.apiKey)');
  });

  it('mirrors the scaffold of the CleverTap project file for file', async () => {
    const tree = workspace();
    await destinationGenerator(tree, { name: 'acme' });
    for (const file of SCAFFOLD) {
      const clevertap = readFileSync(path.join(REPO, 'libs/destinations/clevertap', file), 'utf-8');
      expect(read(tree, `libs/destinations/acme/${file}`)).toBe(clevertap.replaceAll('clevertap', 'acme'));
    }
  });

  it('has the shape of the real plugins: the same files, the same imports into plugin.ts, the same plugin members', async () => {
    // Optional hooks a plugin opts into (CleverTap's sendsState, erasure and connection check, from ./account) are not part of the scaffold.
    const OPTIONAL_HOOKS = ['sendsState', 'erasure', 'connectionCheck'];
    const OPTIONAL_IMPORT = /from '\.\/account';$/;
    const tree = workspace();
    await destinationGenerator(tree, { name: 'acme' });
    const importsOf = (source: string) => source.match(/^import [^;]+;$/gm) ?? [];
    const membersOf = (source: string) => source.match(/^ {2}\w+(?=[:,])/gm) ?? [];
    for (const [real, settingsName] of [
      ['clevertap', 'CleverTapSettings'],
      ['amplitude', 'AmplitudeSettings'],
    ]) {
      const realFile = (file: string) => path.join(REPO, 'libs/destinations', real, 'src', `${file}.ts`);
      for (const file of SOURCES) expect([real, file, existsSync(realFile(file))]).toEqual([real, file, true]);
      const plugin = read(tree, 'libs/destinations/acme/src/plugin.ts').replaceAll('AcmeSettings', settingsName);
      const realPlugin = readFileSync(realFile('plugin'), 'utf-8');
      expect(importsOf(plugin)).toEqual(importsOf(realPlugin).filter((line) => !OPTIONAL_IMPORT.test(line)));
      expect(membersOf(plugin)).toEqual(membersOf(realPlugin).filter((member) => !OPTIONAL_HOOKS.includes(member.trim())));
    }
    expect(read(tree, 'libs/destinations/acme/src/capabilities.ts')).toContain('export const capabilities: Capabilities = {');
  });

  it('tags the project as a destination, with the four targets', async () => {
    const tree = workspace();
    await destinationGenerator(tree, { name: 'acme' });
    const project = readProjectConfiguration(tree, 'acme');
    expect(project.root).toBe('libs/destinations/acme');
    expect(project.tags).toEqual(['type:destination']);
    expect(Object.keys(project.targets ?? {})).toEqual(['build', 'typecheck', 'lint', 'test']);
  });

  it('writes honest stubs, and the contract spec skips exactly the suites that need them, saying why', async () => {
    const tree = workspace();
    await destinationGenerator(tree, { name: 'acme' });
    expect(read(tree, 'libs/destinations/acme/src/requests.ts')).toContain(
      "throw new Error('acme: buildRequests is not implemented yet');",
    );
    expect(read(tree, 'libs/destinations/acme/src/responses.ts')).toContain(
      "throw new Error('acme: parseResponse is not implemented yet');",
    );
    const spec = read(tree, 'libs/destinations/acme/src/contract.spec.ts');
    expect(spec).toContain('describeDestinationContract(acmePlugin, {');
    expect(spec).toContain("requests: 'acme: buildRequests is not implemented yet',");
    expect(spec).toContain("batching: 'acme: buildRequests is not implemented yet',");
    expect(spec).toContain("responses: 'acme: buildRequests and parseResponse are not implemented yet',");
    expect(spec).toContain("'partial-responses': 'acme: buildRequests and parseResponse are not implemented yet',");
    expect(spec).not.toMatch(/settings: '|secrets: '|capabilities: '/);
  });

  it('registers the plugin with the runner: one import, one list entry, one dependency', async () => {
    const tree = workspace();
    await destinationGenerator(tree, { name: 'acme' });
    expect(read(tree, RUNNER_REGISTRY)).toBe(`import type { AnyDestinationPlugin, SourcePlugin } from '@ferry/core';
import { revenueCatSource } from '@ferry/revenuecat';
import { clevertapPlugin } from '@ferry/clevertap';
import { acmePlugin } from '@ferry/acme';
// The one place that knows which plugins exist; \`nx g @ferry/tools:destination\` adds new destinations here.
export const sourcePlugins: readonly SourcePlugin[] = [revenueCatSource];
export const destinationPlugins: readonly AnyDestinationPlugin[] = [clevertapPlugin, acmePlugin];
`);
    const manifest = JSON.parse(read(tree, RUNNER_PACKAGE));
    expect(Object.entries(manifest.dependencies)).toEqual([
      ['@ferry/core', '*'],
      ['@ferry/clevertap', '*'],
      ['@ferry/engine', '*'],
      ['@ferry/acme', '*'],
      ['fastify', '*'],
    ]);
    expect(manifest.devDependencies).toEqual(RUNNER_MANIFEST.devDependencies);
  });

  it('adds to a list written one entry per line, keeping that layout', async () => {
    const tree = workspace();
    tree.write(RUNNER_REGISTRY, REGISTRY.replace('[clevertapPlugin];', '[\n  clevertapPlugin,\n];'));
    await destinationGenerator(tree, { name: 'acme' });
    await destinationGenerator(tree, { name: 'zeta' });
    expect(read(tree, RUNNER_REGISTRY)).toContain(
      "import { acmePlugin } from '@ferry/acme';\nimport { zetaPlugin } from '@ferry/zeta';\n// The one place",
    );
    expect(read(tree, RUNNER_REGISTRY)).toContain('= [\n  clevertapPlugin,\n  acmePlugin,\n  zetaPlugin,\n];');
  });

  it('derives every name from a kebab-case name', async () => {
    const tree = workspace();
    await destinationGenerator(tree, { name: 'mix-panel' });
    expect(read(tree, RUNNER_REGISTRY)).toContain("import { mixPanelPlugin } from '@ferry/mix-panel';");
    const plugin = read(tree, 'libs/destinations/mix-panel/src/plugin.ts');
    expect(plugin).toContain("id: 'mix-panel',");
    expect(plugin).toContain("displayName: 'Mix Panel',");
    expect(plugin).toContain('export const mixPanelPlugin: DestinationPlugin<MixPanelSettings> = {');
    expect(read(tree, 'libs/destinations/mix-panel/src/settings.ts')).toContain("apiKey: 'YOUR_MIX_PANEL_API_KEY',");
    await destinationGenerator(tree, { name: 'braze', displayName: 'Braze (EU)' });
    expect(read(tree, 'libs/destinations/braze/src/plugin.ts')).toContain("displayName: 'Braze (EU)',");
  });

  it.each([
    [{ name: 'Acme' }, /name: "Acme" must be lower-case kebab-case/],
    [{ name: '9lives' }, /name: "9lives" must be lower-case kebab-case/],
    [{ name: 'acme_io' }, /name: "acme_io" must be lower-case kebab-case/],
    [{ name: 'acme', displayName: "Acme's" }, /displayName: "Acme's" may hold only letters, digits, spaces/],
  ])('refuses %j and writes nothing', async (schema, message) => {
    const tree = workspace();
    const before = changes(tree);
    await expect(destinationGenerator(tree, schema)).rejects.toThrow(message);
    expect(changes(tree)).toEqual(before);
  });

  it('refuses an existing destination, a missing registry and one it cannot read, and writes nothing', async () => {
    const existing = workspace();
    await destinationGenerator(existing, { name: 'acme' });
    const generated = changes(existing);
    await expect(destinationGenerator(existing, { name: 'acme' })).rejects.toThrow('libs/destinations/acme already exists');
    expect(changes(existing)).toEqual(generated);

    const missing = workspace();
    missing.delete(RUNNER_REGISTRY);
    const beforeMissing = changes(missing);
    await expect(destinationGenerator(missing, { name: 'acme' })).rejects.toThrow(`${RUNNER_REGISTRY} not found`);
    expect(changes(missing)).toEqual(beforeMissing);

    const reshaped = workspace();
    reshaped.write(RUNNER_REGISTRY, 'export const plugins = [clevertapPlugin];\n');
    const beforeReshaped = changes(reshaped);
    await expect(destinationGenerator(reshaped, { name: 'acme' })).rejects.toThrow('does not declare `export const destinationPlugins');
    expect(changes(reshaped)).toEqual(beforeReshaped);
  });
});
