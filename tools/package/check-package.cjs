#!/usr/bin/env node
// Proves the package built by `npm run package` on its own: unpacks the tarball into an empty directory
// outside the clone (no node_modules above it), runs the runner against the fake CleverTap (started
// here from the repo's testkit, never shipped), sends a webhook and waits for its delivery, then runs
// the CLI's config check, preview and backup from there. Any failure exits 1 with what went wrong.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const TARBALL = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist/ferry.tar.gz'));
const { startFakeCleverTap, webhookBody } = require(path.join(ROOT, 'libs/testkit/dist/index.js'));

const ACCOUNT = 'ACC-PACKAGE-CHECK';
const PASSCODE = 'passcode-package-check';
const ADMIN_TOKEN = 'admin-token-package-check';
const WEBHOOK_AUTHORIZATION = 'Bearer webhook-token-package-check';
/** What a Node-only machine has: no toolchain and no path into the clone. */
const CLEAN_ENV = { PATH: process.env.PATH, HOME: os.tmpdir(), FERRY_ADMIN_TOKEN: ADMIN_TOKEN, CLEVERTAP_PASSCODE: PASSCODE };
/** Toolchain and test-only packages that must never ship. */
const NOT_SHIPPED = ['typescript', 'esbuild', 'nx', '@nx', 'jest', '@swc', 'prettier', 'eslint', '@ferry', 'prebuild-install', 'node-gyp'];
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

/** Runs a shipped script to completion in `cwd`. */
function runShipped(script, args, cwd) {
  const result = spawnSync(process.execPath, [script, ...args], { cwd, env: CLEAN_ENV, encoding: 'utf8', timeout: DEADLINE_MS });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
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

    const backupFile = path.join(dir, 'backup.db');
    const backup = runShipped(path.join(ferry, 'cli.js'), ['backup', '--config', configFile, backupFile], work);
    check(
      backup.code === 0 && fs.statSync(backupFile, { throwIfNoEntry: false })?.size > 0,
      'cli.js backup copies the running store',
      backup.stdout + backup.stderr,
    );

    runner.child.kill('SIGTERM');
    const { code } = await runner.exited;
    check(code === 0, `SIGTERM stops the runner cleanly (exit ${code})`, runner.output());
    runner = undefined;
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
