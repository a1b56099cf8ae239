import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nativeAbiMismatch, packagedNativeAbiMismatch, runningNode, type NodeBuild } from './native-abi';
import { tempDir, type TempDir } from './testing/harness';

const NODE_20: NodeBuild = { platform: 'linux', arch: 'x64', node: '20.20.2', modules: '115' };
const NODE_22: NodeBuild = { platform: 'linux', arch: 'x64', node: '22.12.0', modules: '127' };

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

describe("the package's native module check", () => {
  it('lets any Node of the same ABI and platform run it', () => {
    expect(nativeAbiMismatch(NODE_20, { ...NODE_20, node: '20.19.0' })).toBeUndefined();
    expect(nativeAbiMismatch(runningNode())).toBeUndefined();
  });

  it('says which Node it was built for, which is running, and what to do', () => {
    expect(nativeAbiMismatch(NODE_20, NODE_22)).toBe(
      'this package was built for Node 20.20.2 (ABI 115, linux-x64), but this is Node 22.12.0 (ABI 127, linux-x64): ' +
        'its compiled SQLite module (better-sqlite3) loads only into the Node major and platform that built it. ' +
        'Run it with Node 20 on linux-x64, or build the package again with this Node (npm ci && npm run package) on a machine like this one.',
    );
    expect(nativeAbiMismatch(NODE_20, { ...NODE_20, arch: 'arm64' })).toMatch(/but this is Node 20\.20\.2 \(ABI 115, linux-arm64\)/);
  });

  it('reads the Node the package recorded in its package.json, and checks nothing where there is no record', async () => {
    const manifest = path.join(dir.path, 'package.json');
    await writeFile(manifest, JSON.stringify({ name: 'ferry', builtFor: NODE_20 }));
    expect(packagedNativeAbiMismatch(manifest, NODE_22)).toMatch(/^this package was built for Node 20\.20\.2 \(ABI 115/);
    expect(packagedNativeAbiMismatch(manifest, NODE_20)).toBeUndefined();
    await writeFile(manifest, JSON.stringify({ name: '@ferry/runner' }));
    expect(packagedNativeAbiMismatch(manifest, NODE_22)).toBeUndefined();
    expect(packagedNativeAbiMismatch(path.join(dir.path, 'absent.json'), NODE_22)).toBeUndefined();
  });
});
