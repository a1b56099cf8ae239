#!/usr/bin/env node
// Lints what deploys Ferry without a Docker engine (none runs on these machines): the Dockerfile's
// stated rules, the build context .dockerignore lets through (evaluated here with Docker's matching
// rules), the compose file's shape, the systemd unit (systemd-analyze verify), and the container config
// template against the packaged CLI's own config check. Any failure exits 1 naming the rule.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { SHIPPED_FILES } = require('./build-package.cjs');

const ROOT = path.resolve(__dirname, '../..');
const DOCKERFILE = path.resolve(process.argv[2] ?? path.join(ROOT, 'Dockerfile'));
const COMPOSE = path.resolve(process.argv[3] ?? path.join(ROOT, 'deploy/compose.yaml'));
const UNIT = path.join(ROOT, 'deploy/systemd/ferry.service');
const PACKAGE_DIR = path.join(ROOT, 'dist/ferry');

let passed = 0;
const failures = [];
function check(condition, what) {
  if (condition) {
    passed++;
    process.stdout.write(`ok - ${what}\n`);
  } else {
    failures.push(what);
    process.stdout.write(`not ok - ${what}\n`);
  }
}

/** Dockerfile instructions, continuation lines joined, comments dropped, grouped by stage. */
function dockerStages(text) {
  const instructions = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line);
      return { keyword: keyword.toUpperCase(), args };
    });
  const stages = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM')
      stages.push({ from: instruction.args, name: /\sAS\s+(\S+)/i.exec(instruction.args)?.[1], steps: [] });
    else stages.at(-1)?.steps.push(instruction);
  }
  return stages;
}

const isExecForm = (args) => {
  try {
    return Array.isArray(JSON.parse(args));
  } catch {
    return false;
  }
};

function checkDockerfile() {
  const stages = dockerStages(fs.readFileSync(DOCKERFILE, 'utf8'));
  check(stages.length >= 2, 'Dockerfile: multi-stage');
  const [build, runtime] = [stages[0], stages.at(-1)];
  const steps = (stage, keyword) => stage?.steps.filter((step) => step.keyword === keyword) ?? [];
  check(
    steps(build, 'RUN').some((step) => step.args.includes('npm ci') && step.args.includes('npm run package')),
    'Dockerfile: the build stage runs the package steps (npm ci, npm run package)',
  );
  const copies = [...steps(runtime, 'COPY'), ...steps(runtime, 'ADD')];
  check(
    copies.length > 0 &&
      copies.every((step) => step.keyword === 'COPY' && new RegExp(`--from=${build?.name}\\s+\\S*/dist/ferry\\s`).test(step.args)),
    'Dockerfile: the runtime stage copies the package (dist/ferry) only',
  );
  const user = steps(runtime, 'USER').at(-1)?.args;
  check(user !== undefined && !/^(root|0)(:|$)/.test(user), `Dockerfile: runs as a non-root USER (${user})`);
  check(
    steps(runtime, 'VOLUME').some((step) => /(^|[\s"[])\/data([\s"\],]|$)/.test(step.args)),
    'Dockerfile: VOLUME /data',
  );
  check(
    steps(runtime, 'HEALTHCHECK').some((step) => step.args.includes('/healthz')),
    'Dockerfile: HEALTHCHECK on /healthz',
  );
  const entry = [...steps(runtime, 'ENTRYPOINT'), ...steps(runtime, 'CMD')];
  check(
    entry.length > 0 && entry.every((step) => isExecForm(step.args)) && entry.some((step) => /"node",\s*"[^"]*main\.js"/.test(step.args)),
    'Dockerfile: exec-form ENTRYPOINT/CMD runs node main.js as PID 1 (SIGTERM reaches node)',
  );
}

/** .dockerignore's patterns as Docker reads them: in order, `!` re-including, each also matching a path's parent folders. */
function dockerignore(text) {
  const patterns = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exception = line.startsWith('!');
      const pattern = path.posix.normalize(line.slice(exception ? 1 : 0).trim()).replace(/^\/+/, '');
      return { exception, pattern, regex: globRegex(pattern) };
    });
  const matches = (regex, file) => {
    const parts = file.split('/');
    return parts.some((_, end) => regex.test(parts.slice(0, end + 1).join('/')));
  };
  return {
    patterns,
    /** Whether a path (relative, with /) reaches the build: the last pattern matching it or a parent folder decides. */
    sends(file) {
      let sent = true;
      for (const { exception, regex } of patterns) if (matches(regex, file)) sent = exception;
      return sent;
    },
  };
}

/** Docker's (Go filepath.Match with **) glob as a regular expression: * and ? stay within a path segment. */
function globRegex(pattern) {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        source += '(.*/)?';
      } else source += '.*';
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Every file of the tree Docker would send, walking only into folders an exception could reach (as Docker does). */
function contextFiles(ignore, dir = ROOT, prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = `${prefix}${entry.name}`;
    if (!entry.isDirectory()) return ignore.sends(relative) ? [relative] : [];
    const reachable =
      ignore.sends(relative) || ignore.patterns.some(({ exception, pattern }) => exception && pattern.startsWith(`${relative}/`));
    return reachable ? contextFiles(ignore, path.join(dir, entry.name), `${relative}/`) : [];
  });
}

function checkBuildContext() {
  const ignore = dockerignore(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
  const planted = [
    'deploy/.env',
    'deploy/.env.production',
    'ferry.config.json',
    'notes.txt',
    'data/ferry.db',
    'backups/ferry-2025-01-01.db',
    'apps/runner/.env',
    'node_modules/pg/index.js',
    'libs/store/node_modules/x/index.js',
    'apps/runner/dist/main.js',
    'dist/ferry.tar.gz',
    'apps/runner/test-results.json',
    '.git/config',
    '.nx/workspace-data/file-map.json',
  ];
  const sent = planted.filter((file) => ignore.sends(file));
  check(
    sent.length === 0,
    `.dockerignore sends none of an operator's or this machine's files (${sent.join(', ') || 'deploy/.env, data/, …'})`,
  );

  // What `npm ci && npm run package` reads: the workspace (root manifests, apps, libs, tools) and the shipped files.
  const tracked = spawnSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const needed = tracked.filter(
    (file) =>
      ['package.json', 'package-lock.json', 'nx.json', 'tsconfig.base.json'].includes(file) ||
      /^(apps|libs|tools)\//.test(file) ||
      SHIPPED_FILES.includes(file),
  );
  const context = new Set(contextFiles(ignore));
  const missing = needed.filter((file) => !context.has(file));
  check(
    missing.length === 0,
    `.dockerignore sends everything the package build reads (${needed.length} files)${missing.length ? `; missing: ${missing.join(', ')}` : ''}`,
  );
  // `needed` holds only tracked files, so anything else sent is extra.
  const neededSet = new Set(needed);
  const extra = [...context].filter((file) => !neededSet.has(file));
  check(extra.length === 0, `.dockerignore sends nothing else from this tree${extra.length ? `: ${extra.slice(0, 10).join(', ')}` : ''}`);
}

function checkCompose() {
  const compose = YAML.parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true });
  const services = compose?.services ?? {};
  const runners = Object.entries(services).filter(([, service]) => service.image === 'ferry:local');
  check(services.postgres?.image?.startsWith('postgres:'), 'compose: a Postgres service');
  check(runners.length >= 2, `compose: two runners or more (${runners.map(([name]) => name).join(', ')})`);
  check(
    runners.some(([, service]) => service.build?.dockerfile === 'Dockerfile'),
    'compose: the runner image is built from the Dockerfile',
  );
  check(
    runners.every(([, service]) => String(service.environment?.FERRY_STORE_URL).startsWith('postgres://')),
    'compose: every runner shares the Postgres store',
  );
  const proxy = Object.values(services).find((service) => service.image?.startsWith('caddy:'));
  check(proxy?.ports?.includes('443:443') === true, 'compose: a TLS-terminating proxy on 443');
  const caddyfile = fs.readFileSync(path.join(path.dirname(COMPOSE), 'Caddyfile'), 'utf8');
  check(
    runners.every(([name]) => caddyfile.includes(`${name}:8080`)),
    'Caddyfile: the proxy balances over every runner',
  );
}

function checkUnit() {
  const verify = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  if (verify.error?.code === 'ENOENT') {
    process.stdout.write('skip - systemd-analyze is not installed: the unit was not verified\n');
    return;
  }
  // verify exits 0 on many problems it only warns about, so any output counts as a failure.
  const said = `${verify.stdout}${verify.stderr}`.trim();
  check(verify.status === 0 && said === '', `systemd-analyze verify deploy/systemd/ferry.service${said ? `: ${said}` : ''}`);
}

function checkContainerConfig() {
  const cli = path.join(PACKAGE_DIR, 'cli.js');
  const template = path.join(PACKAGE_DIR, 'deploy/ferry.config.container.json');
  if (!fs.existsSync(template)) {
    check(false, `the package ships deploy/ferry.config.container.json (run npm run package first)`);
    return;
  }
  const env = {
    PATH: process.env.PATH,
    FERRY_ADMIN_TOKEN: 'admin-token-deploy-check',
    FERRY_STORE_URL: 'sqlite:/data/ferry.db',
    RC_WEBHOOK_AUTHORIZATION: 'Bearer webhook-token-deploy-check',
    CLEVERTAP_REGION: 'eu1',
    CLEVERTAP_ACCOUNT_ID: 'ACC-DEPLOY-CHECK',
    CLEVERTAP_PASSCODE: 'passcode-deploy-check',
  };
  const run = spawnSync(process.execPath, [cli, 'config', 'check', '--config', template], { env, encoding: 'utf8' });
  check(
    run.status === 0 && run.stdout.includes('config OK'),
    `the container config template passes the packaged config check${run.status === 0 ? '' : `:\n${run.stdout}${run.stderr}`}`,
  );
}

checkDockerfile();
checkBuildContext();
checkCompose();
checkUnit();
checkContainerConfig();
if (failures.length > 0) {
  process.stderr.write(`deploy check FAILED:\n${failures.map((what) => `  ${what}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`deploy check: all ${passed} checks passed\n`);
