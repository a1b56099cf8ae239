#!/usr/bin/env node
// `npm run package`: writes dist/ferry/ (runs with Node alone) and dist/ferry.tar.gz of it.
// The runner and the CLI are bundled with the workspace libs (@ferry/*) inlined; every other package
// stays external and is copied from this install's node_modules, following the lockfile from what the
// bundles import, so the versions are the lockfile's and better-sqlite3's compiled binary comes along.
// Nothing is taken because it happens to be in the tree: every other file is named below (an operator's
// deploy/.env must never ship), and of each dependency only what runs is copied (no tests, sources, docs).
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
const CONSOLE_ROOT = path.join(ROOT, 'apps/console');

/** Needed only while installing (better-sqlite3 fetches or builds its binary with it); the package ships the binary. */
const INSTALL_TIME_ONLY = new Set(['prebuild-install']);

/** Inside better-sqlite3, only the loader and the compiled module are needed at run time (sources and objects are 25 MB). */
const BETTER_SQLITE3_KEEP = ['package.json', 'LICENSE', 'lib/', 'build/Release/better_sqlite3.node'];

/** The repository's files the package carries beside the code, each named: nothing else in deploy/ ships. */
const SHIPPED_FILES = [
  'ferry.config.example.json',
  'deploy/systemd/ferry.service',
  'deploy/ferry.config.container.json',
  'deploy/compose.yaml',
  'deploy/Caddyfile',
  'deploy/.env.example',
  'deploy/prometheus/ferry-alerts.yml',
  'deploy/grafana/ferry-dashboard.json',
];

/** What `require` can load from a dependency, besides its licence: the rest is docs, sources and build leftovers. */
const RUNTIME_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.json', '.node']);
const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-]|$)/i;
/** Folders of a dependency that hold its tests, benchmarks, examples, docs or CI setup. */
const NOT_RUNTIME_FOLDERS = new Set([
  'test',
  'tests',
  '__tests__',
  'spec',
  'specs',
  'bench',
  'benchmark',
  'benchmarks',
  'example',
  'examples',
  'doc',
  'docs',
  'coverage',
]);
/** Files of a dependency that are tests, benchmarks, examples or tool configs although they end in .js/.json. */
const NOT_RUNTIME_FILE =
  /(^|[.-])(test|spec|bench|benchmark)s?\.[cm]?js$|^examples?\.[cm]?js$|^(eslint\.config|gruntfile|gulpfile|jest\.config|vitest\.config|rollup\.config|webpack\.config|babel\.config|karma\.conf)\.[cm]?js$|^tsconfig(\..+)?\.json$|^package-lock\.json$/i;

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

/** Whether a dependency's file (its path inside the package, with /) is needed at run time. */
function runsInDependency(location, inside) {
  if (location.endsWith('node_modules/better-sqlite3'))
    return BETTER_SQLITE3_KEEP.some((keep) => (keep.endsWith('/') ? inside.startsWith(keep) : inside === keep));
  const parts = inside.split('/');
  const name = parts.pop();
  if (parts.some((folder) => folder.startsWith('.') || NOT_RUNTIME_FOLDERS.has(folder.toLowerCase()))) return false;
  if (LICENSE_FILE.test(name)) return true;
  return !name.startsWith('.') && RUNTIME_EXTENSIONS.has(path.extname(name)) && !NOT_RUNTIME_FILE.test(name);
}

/** Every file under `dir`, as paths relative to it with /; nested node_modules are closure entries of their own. */
function filesUnder(dir, prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(path.join(dir, entry.name), `${relative}/`);
    return entry.isFile() ? [relative] : [];
  });
}

/** Copies what runs of one dependency; answers how many of its files were left out. */
function copyPackage(location) {
  const from = path.join(ROOT, location);
  const files = filesUnder(from);
  const kept = files.filter((inside) => runsInDependency(location, inside));
  for (const inside of kept) {
    const target = path.join(PACKAGE_DIR, location, inside);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(from, inside), target);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(from, 'package.json'), 'utf8'));
  for (const entry of entryFiles(manifest)) {
    // As Node resolves a main: the file, with an extension, or a folder's index.
    const candidates = ['', '.js', '.json', '.node', '/index.js'].map((suffix) => path.join(PACKAGE_DIR, location, entry + suffix));
    if (!candidates.some((candidate) => fs.statSync(candidate, { throwIfNoEntry: false })?.isFile()))
      fail(`${location}'s entry ${entry} was left out of the package: adjust the run-time rules in tools/package/build-package.cjs`);
  }
  return files.length - kept.length;
}

/** The files a package.json names as what `require`/`import` loads (main, exports), wildcards and TypeScript aside. */
function entryFiles(manifest) {
  const targets = [];
  const collect = (value) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect(manifest.exports);
  if (typeof manifest.main === 'string') targets.push(manifest.main);
  return targets
    .filter((target) => target.startsWith('./') || !target.startsWith('.'))
    .filter((target) => !target.includes('*') && !/\.[cm]?ts$/.test(target)) // TypeScript: types and sources for tools
    .map((target) => path.posix.normalize(target));
}

/** The console's build output, file by file: its compiled sources and its static files, as the runner serves them. */
function consoleFiles() {
  const compiled = fs
    .readdirSync(path.join(CONSOLE_ROOT, 'src'))
    .filter((name) => name.endsWith('.ts') && !/\.(spec|d)\.ts$/.test(name))
    .map((name) => name.replace(/\.ts$/, '.js'));
  return [...compiled, ...fs.readdirSync(path.join(CONSOLE_ROOT, 'static'))].sort();
}

/**
 * The Node versions the package runs on: the root's range narrowed to the packaging Node's major, the
 * only one whose ABI its compiled SQLite module loads into. The root's clauses read ">=A.B <C" or ">=A".
 */
function enginesForThisNode(rootRange) {
  const [major, minor, patch] = process.versions.node.split('.').map(Number);
  for (const clause of rootRange.split('||').map((text) => text.trim())) {
    const parsed = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\s+<\s*(\d+))?$/.exec(clause);
    if (!parsed) fail(`cannot read the engines clause "${clause}" of package.json (expected ">=A.B <C" or ">=A")`);
    const [from, fromMinor, fromPatch, below] = parsed.slice(1).map((part) => (part === undefined ? undefined : Number(part)));
    const lowest = from === major ? [major, fromMinor ?? 0, fromPatch ?? 0] : [major, 0, 0];
    const reachesLowest = minor > lowest[1] || (minor === lowest[1] && patch >= lowest[2]);
    if (from <= major && (below === undefined || major < below) && reachesLowest) return `>=${lowest.join('.')} <${major + 1}`;
  }
  fail(`Node ${process.versions.node} is outside package.json's engines (${rootRange}): package with a supported Node`);
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
  const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  // Before the slow part: a Node the root's engines do not name fails at once.
  const engines = enginesForThisNode(root.engines.node);
  fs.rmSync(PACKAGE_DIR, { recursive: true, force: true });
  fs.rmSync(TARBALL, { force: true });
  const imported = await bundle();
  const closure = productionClosure(imported);
  let leftOut = 0;
  for (const location of closure.keys()) leftOut += copyPackage(location);

  for (const name of consoleFiles()) {
    const from = path.join(CONSOLE_ROOT, 'dist', name);
    if (!fs.existsSync(from)) fail(`apps/console/dist/${name} is missing: build the console first (npx nx run console:build)`);
    fs.cpSync(from, path.join(PACKAGE_DIR, 'console', name));
  }
  // The example config, unit files, alert rules and dashboards travel with the code they describe.
  for (const file of SHIPPED_FILES) {
    if (!fs.existsSync(path.join(ROOT, file))) fail(`${file} is missing: the package ships it (tools/package/build-package.cjs)`);
    fs.cpSync(path.join(ROOT, file), path.join(PACKAGE_DIR, file));
  }

  const runner = JSON.parse(fs.readFileSync(path.join(ROOT, 'apps/runner/package.json'), 'utf8'));
  const manifest = {
    name: 'ferry',
    version: runner.version,
    private: true,
    description: root.description,
    // The compiled better-sqlite3 inside fits this platform and Node major only: main.js and cli.js check
    // builtFor at start (apps/runner/src/native-abi.ts), and engines says so.
    builtFor: { platform: process.platform, arch: process.arch, node: process.versions.node, modules: process.versions.modules },
    engines: { node: engines },
    main: 'main.js',
    dependencies: Object.fromEntries(imported.map((name) => [name, closure.get(`node_modules/${name}`).version])),
  };
  fs.writeFileSync(path.join(PACKAGE_DIR, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  execFileSync('tar', ['-czf', TARBALL, '-C', OUT_DIR, 'ferry'], { stdio: 'inherit' });
  const directory = sizeOf(PACKAGE_DIR);
  process.stdout.write(
    `package: ${path.relative(ROOT, PACKAGE_DIR)}/ ${megabytes(directory.bytes)} in ${directory.files} files ` +
      `(${closure.size} packages from the lockfile, ${leftOut} of their files left out as not run); ` +
      `${path.relative(ROOT, TARBALL)} ${megabytes(fs.statSync(TARBALL).size)}\n`,
  );
}

// check-deploy.cjs reads the list of shipped files: the image's build context must hold them.
module.exports = { SHIPPED_FILES };
if (require.main === module) main().catch((error) => fail(error.stack ?? String(error)));
