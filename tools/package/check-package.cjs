#!/usr/bin/env node
// Proves the package built by `npm run package` on its own: unpacks the tarball into an empty directory
// outside the clone (no node_modules above it), checks it holds only what runs, runs the runner against
// the fake CleverTap (started here from the repo's testkit, never shipped), sends a webhook and waits for
// its delivery, then runs the CLI's config check, preview, backup (as cron would: no secret in its
// environment) and, with DATABASE_URL, a store command on Postgres; a Node of another ABI is refused at
// start. Last, it packages a copy of the tree holding an operator's deploy/.env and stray files, and
// checks none of them ships. Any failure exits 1 with what went wrong.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const TARBALL = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist/ferry.tar.gz'));
const { startFakeCleverTap, webhookBody } = require(path.join(ROOT, 'libs/testkit/dist/index.js'));
const pg = require('pg');

const ACCOUNT = 'ACC-PACKAGE-CHECK';
const PASSCODE = 'passcode-package-check';
const ADMIN_TOKEN = 'admin-token-package-check';
const WEBHOOK_AUTHORIZATION = 'Bearer webhook-token-package-check';
/** What a Node-only machine has: no toolchain and no path into the clone. */
const CLEAN_ENV = { PATH: process.env.PATH, HOME: os.tmpdir(), FERRY_ADMIN_TOKEN: ADMIN_TOKEN, CLEVERTAP_PASSCODE: PASSCODE };
/** What a cron job has: no secret at all. */
const CRON_ENV = { PATH: process.env.PATH, HOME: os.tmpdir() };
/** Toolchain and test-only packages that must never ship. */
const NOT_SHIPPED = ['typescript', 'esbuild', 'nx', '@nx', 'jest', '@swc', 'prettier', 'eslint', '@ferry', 'prebuild-install', 'node-gyp'];
/** The package's top level: the bundles, the console, the named repository files, the dependencies and the manifest. */
const TOP_LEVEL = ['cli.js', 'console', 'deploy', 'ferry.config.example.json', 'main.js', 'node_modules', 'package.json'];
/** Dependency files that do not run: tests, TypeScript, source maps, docs (licences aside). */
const NOT_RUN = {
  test: (file) => /\/(test|tests|__tests__|spec|specs)\//.test(file) || /[./-](test|spec)\.[cm]?js$/.test(file),
  TypeScript: (file) => /\.[cm]?ts$/.test(file),
  'source map': (file) => file.endsWith('.map'),
  doc: (file) => /\.(md|markdown)$/i.test(file) && !/\/(licen[cs]e|copying|notice)[^/]*$/i.test(file),
};
/** A secret an operator keeps in deploy/.env: it must reach no file of any package. */
const PLANTED_SECRET = 'planted-postgres-password-8c1f0e5d';
const DEADLINE_MS = 30_000;

let passed = 0;
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`${what}${detail ? `\n${detail}` : ''}`);
  passed++;
  process.stdout.write(`ok - ${what}\n`);
}

function nodeModulesAbove(dir) {
  for (let current = dir; ; current = path.dirname(current)) {
    if (fs.existsSync(path.join(current, 'node_modules'))) return path.join(current, 'node_modules');
    if (path.dirname(current) === current) return undefined;
  }
}

/** Runs a shipped script to completion in `cwd` (Node's own flags before it, e.g. --env-file). */
function runShipped(script, args, cwd, { env = CLEAN_ENV, nodeFlags = [] } = {}) {
  const result = spawnSync(process.execPath, [...nodeFlags, script, ...args], { cwd, env, encoding: 'utf8', timeout: DEADLINE_MS });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under `dir`, relative to it, with /. */
function filesUnder(dir, prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = `${prefix}${entry.name}`;
    return entry.isDirectory() ? filesUnder(path.join(dir, entry.name), `${relative}/`) : [relative];
  });
}

const trackedFiles = () => new Set(spawnSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n'));

/** What the package holds: its top level, repository files that git does not track, and dependency files that do not run. */
function checkContents(ferry) {
  const top = fs.readdirSync(ferry).sort();
  check(
    JSON.stringify(top) === JSON.stringify(TOP_LEVEL),
    'the package holds the bundles, console, deploy files, dependencies and manifest only',
    top.join(', '),
  );
  const tracked = trackedFiles();
  const fromTree = ['ferry.config.example.json', ...filesUnder(path.join(ferry, 'deploy')).map((file) => `deploy/${file}`)];
  const untracked = fromTree.filter((file) => !tracked.has(file));
  check(untracked.length === 0, "every repository file it ships is one git tracks (never an operator's deploy/.env)", untracked.join(', '));
  const dependencyFiles = filesUnder(path.join(ferry, 'node_modules'));
  for (const [kind, matches] of Object.entries(NOT_RUN)) {
    const found = dependencyFiles.filter(matches);
    check(found.length === 0, `no dependency ${kind} file ships`, `${found.length}, e.g. ${found.slice(0, 5).join(', ')}`);
  }
  const licences = dependencyFiles.filter((file) => /(^|\/)(licen[cs]e|copying)[^/]*$/i.test(file));
  check(licences.length > 0, `the dependencies' licences ship (${licences.length} files)`);
  const manifest = JSON.parse(fs.readFileSync(path.join(ferry, 'package.json'), 'utf8'));
  const major = Number(manifest.builtFor.node.split('.')[0]);
  check(
    new RegExp(`^>=${major}\\.\\d+\\.\\d+ <${major + 1}$`).test(manifest.engines.node),
    `engines admits only the Node major that built its SQLite module (${manifest.engines.node}; built by ${manifest.builtFor.node})`,
  );
}

/**
 * A Node of another ABI than the package records is refused at start, saying which and what to do, before
 * the compiled module is loaded (a preloaded hook makes loading it fail loudly, as a real mismatch would).
 */
function checkAbiRefusal(ferry, work, configFile) {
  const trap = path.join(work, 'sqlite-trap.cjs');
  fs.writeFileSync(
    trap,
    `const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'better-sqlite3') throw new Error('better-sqlite3 was loaded before the ABI check');
  return load.call(this, request, ...rest);
};
`,
  );
  const manifestFile = path.join(ferry, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const { node, modules } = process.versions;
  fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, builtFor: { ...manifest.builtFor, node: '18.20.0', modules: '108' } }));
  try {
    for (const [script, args] of [
      ['main.js', ['--config', configFile]],
      ['cli.js', ['events', 'list', '--config', configFile]],
    ]) {
      const run = runShipped(path.join(ferry, script), args, work, { nodeFlags: ['--require', trap] });
      check(
        run.code === 1 &&
          run.stderr.includes(
            `built for Node 18.20.0 (ABI 108, ${process.platform}-${process.arch}), but this is Node ${node} (ABI ${modules}`,
          ) &&
          run.stderr.includes('Run it with Node 18'),
        `${script} refuses a Node whose ABI differs from the one recorded, before loading it, saying which and what to do`,
        `exit ${run.code}: ${run.stdout}${run.stderr}`,
      );
    }
  } finally {
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  }
}

/**
 * Packages a copy of the tree in which an operator created deploy/.env and left stray files about, with
 * the build script under test, and checks that none of them reaches the package or its tarball.
 */
function checkAllowList(dir) {
  const tree = path.join(dir, 'tree');
  const link = (name) => {
    fs.mkdirSync(path.dirname(path.join(tree, name)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, name), path.join(tree, name));
  };
  ['node_modules', 'package.json', 'package-lock.json', 'ferry.config.example.json', 'apps/runner'].forEach(link);
  for (const copied of ['deploy', 'apps/console/src', 'apps/console/static', 'apps/console/dist', 'tools/package']) {
    fs.cpSync(path.join(ROOT, copied), path.join(tree, copied), { recursive: true });
  }
  const planted = {
    'deploy/.env': `POSTGRES_PASSWORD=${PLANTED_SECRET}\nCLEVERTAP_PASSCODE=${PLANTED_SECRET}\n`,
    'deploy/compose.override.yaml.bak': `# ${PLANTED_SECRET}\n`,
    'apps/console/dist/notes.js': `// ${PLANTED_SECRET}\n`,
    'ferry.config.json': JSON.stringify({ store: { url: `postgres://ferry:${PLANTED_SECRET}@db/ferry` } }),
    'junk.txt': PLANTED_SECRET,
  };
  for (const [file, text] of Object.entries(planted)) fs.writeFileSync(path.join(tree, file), text);

  const build = spawnSync(process.execPath, [path.join(tree, 'tools/package/build-package.cjs')], { cwd: tree, encoding: 'utf8' });
  check(build.status === 0, 'the package builds from a tree holding planted files', build.stdout + build.stderr);
  const packaged = filesUnder(path.join(tree, 'dist/ferry'));
  const tarred = spawnSync('tar', ['-tzf', path.join(tree, 'dist/ferry.tar.gz')], { encoding: 'utf8' }).stdout.split('\n');
  const names = Object.keys(planted).map((file) => path.basename(file));
  const leaked = [...packaged, ...tarred].filter((file) => names.includes(path.basename(file)));
  check(leaked.length === 0, 'no planted file (deploy/.env, stray files) reaches the package or the tarball', leaked.join(', '));
  const holding = packaged.filter((file) => fs.readFileSync(path.join(tree, 'dist/ferry', file)).includes(PLANTED_SECRET));
  check(holding.length === 0, "the operator's secret is in no file of the package", holding.join(', '));
}

/** Starts the shipped runner and resolves with its URL once it logs that it listens. */
function startRunner(main, args, cwd) {
  const child = spawn(process.execPath, [main, ...args], { cwd, env: CLEAN_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the runner did not start within ${DEADLINE_MS} ms:\n${output}`)), DEADLINE_MS);
    exited.then(({ code }) => reject(new Error(`the runner exited (${code}) before listening:\n${output}`)));
    const onData = (chunk) => {
      output += chunk;
      for (const line of output.split('\n')) {
        const url = /"msg":"ferry runner listening on (http:\/\/[^"]+)"/.exec(line)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  return { child, listening, exited, output: () => output };
}

async function waitFor(what, probe) {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The env file as docs/deploying.md writes it (no quotes: systemd, Docker and Node read values verbatim,
 * spaces included), loaded for a CLI call with Node's --env-file, as the guide shows.
 */
function checkEnvFile(ferry, dir, work) {
  const envFile = path.join(dir, 'ferry.env');
  const lines = {
    FERRY_ADMIN_TOKEN: 'c2a9f0d47e1b83c65a0f9e2d7b4c1a86',
    FERRY_STORE_URL: `sqlite:${path.join(dir, 'env-file.db')}`,
    RC_WEBHOOK_AUTHORIZATION: 'Bearer 5e0b9c7d2a4f18e63b7c0d9a1f2e4b86c3d5a7e9f0b1c2d4',
    CLEVERTAP_REGION: 'eu1',
    CLEVERTAP_ACCOUNT_ID: ACCOUNT,
    CLEVERTAP_PASSCODE: 'd7e3a1c9b5f20486e1a3c5b7d9f0e2a4',
  };
  fs.writeFileSync(
    envFile,
    Object.entries(lines)
      .map(([name, value]) => `${name}=${value}\n`)
      .join(''),
  );
  const template = path.join(ferry, 'deploy/ferry.config.container.json');
  const run = runShipped(path.join(ferry, 'cli.js'), ['config', 'check', '--config', template], work, {
    env: CRON_ENV,
    nodeFlags: [`--env-file=${envFile}`],
  });
  check(
    run.code === 0 && run.stdout.includes('config OK') && !run.stdout.includes(lines.RC_WEBHOOK_AUTHORIZATION),
    'node --env-file=ferry.env cli.js … reads the env file, a "Bearer …" value included',
    run.stdout + run.stderr,
  );
}

/** With DATABASE_URL: a store command of the package on Postgres (kysely and pg as shipped), in a schema of its own. */
async function checkPostgres(ferry, dir, work) {
  if (!process.env.DATABASE_URL) {
    process.stdout.write('skip - DATABASE_URL is not set: the package was not run on Postgres\n');
    return;
  }
  const schema = `package_check_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
    const url = new URL(process.env.DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const configFile = path.join(dir, 'postgres.config.json');
    fs.writeFileSync(configFile, JSON.stringify({ store: { url: url.toString() } }));
    const list = runShipped(path.join(ferry, 'cli.js'), ['events', 'list', '--json', '--config', configFile], work, { env: CRON_ENV });
    check(
      list.code === 0 && Array.isArray(JSON.parse(list.stdout || '{}').events),
      'cli.js events list runs on Postgres (the schema migrated by the shipped kysely and pg)',
      list.stdout + list.stderr,
    );
  } finally {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

async function main() {
  check(fs.existsSync(TARBALL), `the tarball exists (${TARBALL})`);
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-package-check-')));
  const fake = await startFakeCleverTap({ accounts: { [ACCOUNT]: PASSCODE } });
  let runner;
  try {
    check(nodeModulesAbove(dir) === undefined, `no node_modules above ${dir}`, `found ${nodeModulesAbove(dir)}`);
    const untar = spawnSync('tar', ['-xzf', TARBALL, '-C', dir], { encoding: 'utf8' });
    check(untar.status === 0, 'the tarball unpacks', untar.stderr);
    const ferry = path.join(dir, 'ferry');
    checkContents(ferry);
    const shipped = fs.readdirSync(path.join(ferry, 'node_modules'));
    const toolchain = NOT_SHIPPED.filter((name) => shipped.includes(name));
    check(toolchain.length === 0, 'no toolchain or test package is shipped', toolchain.join(', '));
    for (const file of ['main.js', 'cli.js']) {
      check(!fs.readFileSync(path.join(ferry, file), 'utf8').includes('startFakeCleverTap'), `${file} holds no test fake`);
    }

    // A working directory apart from the package, as an operator's would be.
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    const configFile = path.join(dir, 'ferry.config.json');
    const config = JSON.parse(fs.readFileSync(path.join(ferry, 'ferry.config.example.json'), 'utf8'));
    config.server = { ...config.server, port: 0, adminToken: '${FERRY_ADMIN_TOKEN}' };
    config.sources = { revenuecat: { authorization: WEBHOOK_AUTHORIZATION } };
    config.destinations[0].settings = {
      ...config.destinations[0].settings,
      accountId: ACCOUNT,
      passcode: '${CLEVERTAP_PASSCODE}',
      endpoint: fake.url,
    };
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

    const configCheck = runShipped(path.join(ferry, 'cli.js'), ['config', 'check', '--config', configFile], work);
    check(
      configCheck.code === 0 && configCheck.stdout.includes('config OK'),
      'cli.js config check passes',
      configCheck.stdout + configCheck.stderr,
    );
    const exampleCheck = runShipped(path.join(ferry, 'cli.js'), ['config', 'check'], work);
    check(
      exampleCheck.code === 0 && exampleCheck.stdout.includes(path.join(ferry, 'ferry.config.example.json')),
      'without a config the CLI finds the shipped example',
      exampleCheck.stdout + exampleCheck.stderr,
    );
    const webhookFile = path.join(dir, 'webhook.json');
    fs.writeFileSync(webhookFile, webhookBody('initial_purchase'));
    const preview = runShipped(path.join(ferry, 'cli.js'), ['preview', '--json', '--config', configFile, webhookFile], work);
    check(
      preview.code === 0 && preview.stdout.includes(fake.url) && !preview.stdout.includes(PASSCODE),
      'cli.js preview shows the request, passcode redacted',
      preview.stdout + preview.stderr,
    );

    runner = startRunner(path.join(ferry, 'main.js'), ['--config', configFile], work);
    const url = await runner.listening;
    check(true, `main.js listens on ${url}`);
    const consolePage = await fetch(`${url}/console`);
    check(consolePage.status === 200 && (await consolePage.text()).includes('<html'), 'the console is served from the package');
    const ingest = await fetch(`${url}/webhooks/revenuecat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: WEBHOOK_AUTHORIZATION },
      body: webhookBody('initial_purchase'),
    });
    check(ingest.status === 200, `the webhook is accepted (${ingest.status})`);
    await waitFor('the delivery to the fake CleverTap', () => fake.records(ACCOUNT).length > 0);
    check(true, 'the event reached the fake CleverTap');

    const backupFile = path.join(dir, 'backups/nightly.db');
    const backup = runShipped(path.join(ferry, 'cli.js'), ['backup', '--config', configFile, backupFile], work, { env: CRON_ENV });
    check(
      backup.code === 0 && fs.statSync(backupFile, { throwIfNoEntry: false })?.size > 0,
      'cli.js backup copies the running store, with no secret in its environment (as from cron)',
      backup.stdout + backup.stderr,
    );
    checkEnvFile(ferry, dir, work);
    await checkPostgres(ferry, dir, work);

    runner.child.kill('SIGTERM');
    const { code } = await runner.exited;
    check(code === 0, `SIGTERM stops the runner cleanly (exit ${code})`, runner.output());
    runner = undefined;
    checkAbiRefusal(ferry, work, configFile);
    checkAllowList(dir);
  } finally {
    runner?.child.kill('SIGKILL');
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`package check: all ${passed} checks passed\n`);
}

main().catch((error) => {
  process.stderr.write(`package check FAILED: ${error.message}\n`);
  process.exit(1);
});
