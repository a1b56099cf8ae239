import { existsSync, readFileSync } from 'node:fs';

/** The Node a compiled module was built by or is loaded into: it loads only where the platform, the architecture and the ABI match (the version is named in messages). */
export interface NodeBuild {
  readonly platform: string;
  readonly arch: string;
  /** The Node version, e.g. 20.20.2. */
  readonly node: string;
  /** NODE_MODULE_VERSION, the native ABI: one per Node major. */
  readonly modules: string;
}

export function runningNode(): NodeBuild {
  return { platform: process.platform, arch: process.arch, node: process.versions.node, modules: process.versions.modules };
}

/**
 * Why the package's compiled SQLite module (better-sqlite3) cannot load into the running Node, and what to
 * do; undefined when it can. The package records the Node that built it as `builtFor` in its package.json.
 */
export function nativeAbiMismatch(builtFor: NodeBuild, running: NodeBuild = runningNode()): string | undefined {
  const sameAbi = builtFor.modules === running.modules;
  if (sameAbi && builtFor.platform === running.platform && builtFor.arch === running.arch) return undefined;
  const major = builtFor.node.split('.')[0];
  return (
    `this package was built for Node ${builtFor.node} (ABI ${builtFor.modules}, ${builtFor.platform}-${builtFor.arch}), ` +
    `but this is Node ${running.node} (ABI ${running.modules}, ${running.platform}-${running.arch}): ` +
    'its compiled SQLite module (better-sqlite3) loads only into the Node major and platform that built it. ' +
    `Run it with Node ${major} on ${builtFor.platform}-${builtFor.arch}, or build the package again with this Node ` +
    '(npm ci && npm run package) on a machine like this one.'
  );
}

/** The mismatch for a package manifest; undefined when it matches or records no build (the repository's own files). */
export function packagedNativeAbiMismatch(manifestPath: string, running: NodeBuild = runningNode()): string | undefined {
  if (!existsSync(manifestPath)) return undefined;
  const { builtFor } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { builtFor?: NodeBuild };
  return builtFor ? nativeAbiMismatch(builtFor, running) : undefined;
}
