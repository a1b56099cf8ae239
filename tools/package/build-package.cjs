#!/usr/bin/env node
// `npm run package`: writes dist/ferry/ (runs with Node alone) and dist/ferry.tar.gz of it.
// The runner and the CLI are bundled with the workspace libs (@ferry/*) inlined; every other package
// stays external and is copied from this install's node_modules, following the lockfile from what the
// bundles import, so the versions are the lockfile's and better-sqlite3's compiled binary comes along.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { isBuiltin } = require('node:module');
const path = require('node:path');
const esbuild = require('esbuild');

const ROOT = path.resolve(__dirname, '../..');
const OUT_DIR = path.join(ROOT, 'dist');
const PACKAGE_DIR = path.join(OUT_DIR, 'ferry');
const TARBALL = path.join(OUT_DIR, 'ferry.tar.gz');
const RUNNER_DIST = path.join(ROOT, 'apps/runner/dist');
const CONSOLE_DIST = path.join(ROOT, 'apps/console/dist');

/** Needed only while installing (better-sqlite3 fetches or builds its binary with it); the package ships the binary. */
const INSTALL_TIME_ONLY = new Set(['prebuild-install']);

/** Inside better-sqlite3, only the loader and the compiled module are needed at run time (sources and objects are 25 MB). */
const BETTER_SQLITE3_KEEP = ['package.json', 'LICENSE', 'lib', 'build/Release/better_sqlite3.node'];

function fail(message) {
  process.stderr.write(`package: ${message}\n`);
  process.exit(1);
}

const packageName = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

async function bundle() {
  for (const entry of ['main.js', 'cli-main.js']) {
    if (!fs.existsSync(path.join(RUNNER_DIST, entry)))
      fail(`apps/runner/dist/${entry} is missing: build the runner first (npx nx run runner:build)`);
  }
  const result = await esbuild.build({
    entryPoints: { main: path.join(RUNNER_DIST, 'main.js'), cli: path.join(RUNNER_DIST, 'cli-main.js') },
    outdir: PACKAGE_DIR,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'third-party-external',
        setup(build) {
          // Workspace libs are inlined; registry packages are shipped as they are (native modules, require(esm)).
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@ferry/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  const imported = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const { path: specifier, external } of output.imports) {
      if (external && !isBuiltin(specifier)) imported.add(packageName(specifier));
    }
  }
  return [...imported].sort();
}

/** Where Node finds `name` when required from the package at `from` (a lockfile key), per the lockfile. */
function resolveInLockfile(packages, from, name) {
  for (let dir = from; ; dir = dir.slice(0, dir.lastIndexOf('/node_modules/'))) {
    const candidate = `${dir}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir.includes('/node_modules/')) break;
  }
  return packages[`node_modules/${name}`] ? `node_modules/${name}` : undefined;
}

/** Every lockfile entry the given top-level packages need at run time. */
function productionClosure(roots) {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const declared = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies ?? {};
  const packages = lock.packages;
  const found = new Map();
  const visit = (location, requiredBy) => {
    if (found.has(location)) return;
    const entry = packages[location];
    if (entry.link || entry.dev) fail(`${location} (needed by ${requiredBy}) is a ${entry.link ? 'workspace link' : 'dev-only package'}`);
    found.set(location, entry);
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const needs = [
      ...Object.keys(entry.dependencies ?? {}).map((name) => [name, false]),
      ...Object.keys(entry.optionalDependencies ?? {}).map((name) => [name, true]),
      ...Object.keys(entry.peerDependencies ?? {}).map((name) => [name, optionalPeers[name]?.optional === true]),
    ];
    for (const [name, optional] of needs) {
      if (INSTALL_TIME_ONLY.has(name)) continue;
      const target = resolveInLockfile(packages, location, name);
      // Optional ones absent from the lockfile are other platforms' binaries or unused peers (pg-native).
      if (target && fs.existsSync(path.join(ROOT, target))) visit(target, location);
      else if (!optional) fail(`${name} (needed by ${location}) is not installed`);
    }
  };
  for (const name of roots) {
    if (!declared[name]) fail(`the runner imports ${name}, which is not in the root package.json's dependencies`);
    visit(`node_modules/${name}`, 'the runner');
  }
  return found;
}

function copyPackage(location) {
  const from = path.join(ROOT, location);
  const to = path.join(PACKAGE_DIR, location);
  // Nested node_modules are entries of their own in the closure, copied only if needed; type
  // declarations and source maps serve only a build.
  fs.cpSync(from, to, {
    recursive: true,
    filter: (source) => path.relative(from, source) !== 'node_modules' && !/\.(d\.[cm]?ts|map)$/.test(source),
  });
  if (location === 'node_modules/better-sqlite3') {
    const slim = `${to}.slim`;
    for (const keep of BETTER_SQLITE3_KEEP) fs.cpSync(path.join(to, keep), path.join(slim, keep), { recursive: true });
    fs.rmSync(to, { recursive: true });
    fs.renameSync(slim, to);
  }
}

function sizeOf(target) {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return { bytes: stat.size, files: 1 };
  let bytes = 0;
  let files = 0;
  for (const name of fs.readdirSync(target)) {
    const inner = sizeOf(path.join(target, name));
    bytes += inner.bytes;
    files += inner.files;
  }
  return { bytes, files };
}

const megabytes = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main() {
  fs.rmSync(PACKAGE_DIR, { recursive: true, force: true });
  fs.rmSync(TARBALL, { force: true });
  const imported = await bundle();
  const closure = productionClosure(imported);
  for (const location of closure.keys()) copyPackage(location);

  if (!fs.existsSync(path.join(CONSOLE_DIST, 'index.html'))) fail('apps/console/dist is missing: build the console first');
  fs.cpSync(CONSOLE_DIST, path.join(PACKAGE_DIR, 'console'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'ferry.config.example.json'), path.join(PACKAGE_DIR, 'ferry.config.example.json'));
  // Unit files, alert rules and dashboards travel with the code they describe.
  if (fs.existsSync(path.join(ROOT, 'deploy'))) fs.cpSync(path.join(ROOT, 'deploy'), path.join(PACKAGE_DIR, 'deploy'), { recursive: true });

  const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const runner = JSON.parse(fs.readFileSync(path.join(ROOT, 'apps/runner/package.json'), 'utf8'));
  const manifest = {
    name: 'ferry',
    version: runner.version,
    private: true,
    description: root.description,
    // The compiled better-sqlite3 inside fits this platform and Node major only.
    builtFor: { platform: process.platform, arch: process.arch, node: process.versions.node, modules: process.versions.modules },
    engines: root.engines,
    main: 'main.js',
    dependencies: Object.fromEntries(imported.map((name) => [name, closure.get(`node_modules/${name}`).version])),
  };
  fs.writeFileSync(path.join(PACKAGE_DIR, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  execFileSync('tar', ['-czf', TARBALL, '-C', OUT_DIR, 'ferry'], { stdio: 'inherit' });
  const directory = sizeOf(PACKAGE_DIR);
  process.stdout.write(
    `package: ${path.relative(ROOT, PACKAGE_DIR)}/ ${megabytes(directory.bytes)} in ${directory.files} files ` +
      `(${closure.size} packages from the lockfile); ${path.relative(ROOT, TARBALL)} ${megabytes(fs.statSync(TARBALL).size)}\n`,
  );
}

main().catch((error) => fail(error.stack ?? String(error)));
