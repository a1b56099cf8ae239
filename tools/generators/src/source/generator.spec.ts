import { readProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RUNNER_PACKAGE, RUNNER_REGISTRY } from '../registry';
import { sourceGenerator } from './generator';

// The runner's registry as its owner writes it (the shape the generator must understand).
const REGISTRY = `import type { AnyDestinationPlugin, SourcePlugin } from '@ferry/core';
import { revenueCatSource } from '@ferry/revenuecat';
import { clevertapPlugin } from '@ferry/clevertap';
// The one place that knows which plugins exist.
export const sourcePlugins: readonly SourcePlugin[] = [revenueCatSource];
export const destinationPlugins: readonly AnyDestinationPlugin[] = [clevertapPlugin];
`;
const RUNNER_MANIFEST = {
  name: '@ferry/runner',
  dependencies: { '@ferry/core': '*', '@ferry/revenuecat': '*', '@ferry/clevertap': '*', fastify: '*' },
  devDependencies: { '@ferry/testkit': '*' },
};
const REPO = path.resolve(__dirname, '../../../..');
const SCAFFOLD = ['package.json', 'project.json', 'tsconfig.lib.json', 'tsconfig.spec.json', 'jest.config.cjs'];
const SOURCES = ['index', 'schema', 'settings', 'source', 'contract.spec', 'source.spec', 'readme.spec'];

function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  // No formatter here (Nx's empty workspace configures oxfmt): check-generator.sh checks the formatting on the real tree.
  tree.delete('.oxfmtrc.json');
  tree.write(RUNNER_REGISTRY, REGISTRY);
  tree.write(RUNNER_PACKAGE, JSON.stringify(RUNNER_MANIFEST, null, 2));
  tree.write('libs/testkit/package.json', JSON.stringify({ name: '@ferry/testkit' }));
  return tree;
}

const read = (tree: Tree, file: string) => tree.read(file, 'utf-8') ?? '';
const changes = (tree: Tree) => tree.listChanges().map((change) => [change.path, change.content?.toString()]);

describe('source generator', () => {
  it('creates the library with every part a source needs', async () => {
    const tree = workspace();
    await sourceGenerator(tree, { name: 'acme' });
    const root = 'libs/sources/acme';
    for (const file of ['README.md', ...SCAFFOLD, ...SOURCES.map((f) => `src/${f}.ts`)])
      expect([file, tree.exists(`${root}/${file}`)]).toEqual([file, true]);
    for (const file of tree.children(`${root}/src`)) expect(read(tree, `${root}/src/${file}`)).not.toMatch(/<%|%>|__\w+__/);
    expect(read(tree, `${root}/README.md`)).not.toMatch(/<%|%>/);
    expect(JSON.parse(read(tree, `${root}/package.json`)).name).toBe('@ferry/acme');
    const source = read(tree, `${root}/src/source.ts`);
    expect(source).toContain("export const ACME_SOURCE_ID = 'acme';");
    expect(source).toContain('export const acmeSource: SourcePlugin<AcmeSettings> = {');
    expect(source).toContain('const matches = credentialCheck(token);');
    expect(read(tree, `${root}/src/settings.ts`)).toContain('token: secret(');
    expect(read(tree, `${root}/src/schema.ts`)).toContain('id: StorableId.min(1),');
    expect(read(tree, `${root}/README.md`)).toMatch(
      /<!-- settings-table:start [^\n]*-->\n\| key \| type \| default \| secret \| description \|\n/,
    );
    expect(read(tree, `${root}/README.md`)).toContain('| `token` | string |  | yes | Acme sends it as `Authorization: Bearer <token>`');
  });

  it('writes a spec that runs the source contract suite with the credential headers and extra bodies', async () => {
    const tree = workspace();
    await sourceGenerator(tree, { name: 'acme' });
    const spec = read(tree, 'libs/sources/acme/src/contract.spec.ts');
    expect(spec).toContain("import { describeSourceContract } from '@ferry/testkit';");
    expect(spec).toContain('describeSourceContract(acmeSource, {');
    expect(spec).toContain(
      'credentialHeaders: (settings) => (settings.token === undefined ? {} : { authorization: `Bearer ${settings.token}` }),',
    );
    expect(spec).toContain('validBodies: [');
  });

  it('mirrors the scaffold of the RevenueCat project file for file', async () => {
    const tree = workspace();
    await sourceGenerator(tree, { name: 'acme' });
    for (const file of SCAFFOLD) {
      const revenuecat = readFileSync(path.join(REPO, 'libs/sources/revenuecat', file), 'utf-8');
      // RevenueCat's own contract spec lives in the testkit (its fixtures are RevenueCat webhooks), so it has no devDependencies.
      const expected = file === 'package.json' ? withTestkit(revenuecat) : revenuecat;
      expect([file, read(tree, `libs/sources/acme/${file}`)]).toEqual([file, expected.replaceAll('revenuecat', 'acme')]);
    }
  });

  it('tags the project as a source, with the four targets', async () => {
    const tree = workspace();
    await sourceGenerator(tree, { name: 'acme' });
    const project = readProjectConfiguration(tree, 'acme');
    expect(project.root).toBe('libs/sources/acme');
    expect(project.tags).toEqual(['type:source']);
    expect(Object.keys(project.targets ?? {})).toEqual(['build', 'typecheck', 'lint', 'test']);
  });

  it('registers the source with the runner: one import, one entry in sourcePlugins, one dependency', async () => {
    const tree = workspace();
    await sourceGenerator(tree, { name: 'acme' });
    expect(read(tree, RUNNER_REGISTRY)).toBe(`import type { AnyDestinationPlugin, SourcePlugin } from '@ferry/core';
import { revenueCatSource } from '@ferry/revenuecat';
import { clevertapPlugin } from '@ferry/clevertap';
import { acmeSource } from '@ferry/acme';
// The one place that knows which plugins exist.
export const sourcePlugins: readonly SourcePlugin[] = [revenueCatSource, acmeSource];
export const destinationPlugins: readonly AnyDestinationPlugin[] = [clevertapPlugin];
`);
    const manifest = JSON.parse(read(tree, RUNNER_PACKAGE));
    expect(Object.keys(manifest.dependencies)).toEqual(['@ferry/core', '@ferry/revenuecat', '@ferry/clevertap', '@ferry/acme', 'fastify']);
    expect(manifest.devDependencies).toEqual(RUNNER_MANIFEST.devDependencies);
  });

  it('reads a registry whose list has another element type, or one entry per line, keeping its layout', async () => {
    const tree = workspace();
    tree.write(
      RUNNER_REGISTRY,
      REGISTRY.replace('readonly SourcePlugin[] = [revenueCatSource];', 'readonly AnySourcePlugin[] = [\n  revenueCatSource,\n];'),
    );
    await sourceGenerator(tree, { name: 'app-store', displayName: 'App Store Server Notifications' });
    expect(read(tree, RUNNER_REGISTRY)).toContain('readonly AnySourcePlugin[] = [\n  revenueCatSource,\n  appStoreSource,\n];');
    expect(read(tree, RUNNER_REGISTRY)).toContain("import { appStoreSource } from '@ferry/app-store';");
    const source = read(tree, 'libs/sources/app-store/src/source.ts');
    expect(source).toContain("displayName: 'App Store Server Notifications',");
    expect(source).toContain("export const APP_STORE_SOURCE_ID = 'app-store';");
    expect(read(tree, 'libs/sources/app-store/README.md')).toContain('"token": "${APP_STORE_TOKEN}"');
  });

  it.each([
    [{ name: 'Acme' }, /name: "Acme" must be lower-case kebab-case/],
    [{ name: 'acme_io' }, /name: "acme_io" must be lower-case kebab-case/],
    [{ name: 'acme', displayName: "Acme's" }, /displayName: "Acme's" may hold only letters, digits, spaces/],
    [{ name: 'testkit' }, /libs\/testkit is already the package @ferry\/testkit/],
  ])('refuses %j and writes nothing', async (schema, message) => {
    const tree = workspace();
    const before = changes(tree);
    await expect(sourceGenerator(tree, schema)).rejects.toThrow(message);
    expect(changes(tree)).toEqual(before);
  });

  it('refuses an existing source, a registered one and a registry it cannot read, and writes nothing', async () => {
    const existing = workspace();
    await sourceGenerator(existing, { name: 'acme' });
    const generated = changes(existing);
    await expect(sourceGenerator(existing, { name: 'acme' })).rejects.toThrow('libs/sources/acme already exists');
    expect(changes(existing)).toEqual(generated);

    const registered = workspace();
    registered.write(RUNNER_REGISTRY, REGISTRY.replace('[revenueCatSource]', '[revenueCatSource, acmeSource]'));
    const beforeRegistered = changes(registered);
    await expect(sourceGenerator(registered, { name: 'acme' })).rejects.toThrow(`acmeSource is already registered in ${RUNNER_REGISTRY}`);
    expect(changes(registered)).toEqual(beforeRegistered);

    const reshaped = workspace();
    reshaped.write(RUNNER_REGISTRY, 'export const sources = [revenueCatSource];\n');
    const beforeReshaped = changes(reshaped);
    await expect(sourceGenerator(reshaped, { name: 'acme' })).rejects.toThrow('does not declare `export const sourcePlugins');
    expect(changes(reshaped)).toEqual(beforeReshaped);
  });
});

/** RevenueCat's manifest with the testkit as a devDependency, as every other plugin's. */
function withTestkit(manifest: string): string {
  const parsed = JSON.parse(manifest) as Record<string, unknown>;
  return `${JSON.stringify({ ...parsed, devDependencies: { '@ferry/testkit': '*' } }, null, 2)}\n`;
}
