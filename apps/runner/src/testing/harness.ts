import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { Clock } from '@ferry/core';
import type { FakeCleverTap } from '@ferry/testkit';
import type { ConfigInput } from '../config';
import { RUNNER_TOKENS, type DispatcherTuning } from '../container';
import { runCli, type CliOptions } from '../cli';
import { createRunner, type Runner, type RunnerOptions } from '../runner';
import type { ServiceContainer } from '../service-container';

/** Test credentials: long and distinctive, so a leak is found by a plain substring search. */
export const WEBHOOK_AUTHORIZATION = 'Bearer rc-hook-secret-5f2c9d1e7a';
export const ADMIN_TOKEN = 'admin-token-8e3b6c0f4d2a9157';
export const ACCOUNT_ID = 'TEST-ACC-001';
export const PASSCODE = 'ct-passcode-a7c4e9f2b1d8';
export const SANDBOX_ACCOUNT_ID = 'TEST-SANDBOX-001';
export const SANDBOX_PASSCODE = 'ct-sandbox-passcode-3e6a0c5b';
export const SECRETS = [WEBHOOK_AUTHORIZATION, 'rc-hook-secret-5f2c9d1e7a', ADMIN_TOKEN, PASSCODE, SANDBOX_PASSCODE];

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-runner-'));
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A log destination that keeps every JSON line, for assertions on what was (not) logged. */
export function captureLogs(): { stream: { write(line: string): void }; text(): string; entries(): Record<string, unknown>[] } {
  const lines: string[] = [];
  return {
    stream: { write: (line) => void lines.push(line) },
    text: () => lines.join(''),
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A CleverTap destination pointed at the fake. */
export function clevertapDestination(
  fake: FakeCleverTap,
  settings: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): NonNullable<ConfigInput['destinations']>[number] {
  return {
    id: 'clevertap-main',
    plugin: 'clevertap',
    timeoutMs: 1_000,
    settings: { endpoint: fake.url, accountId: ACCOUNT_ID, passcode: PASSCODE, ...settings },
    ...extra,
  };
}

/**
 * A config for one test: loopback, any port, a SQLite file in `dir`, fast retries. Its sources are the
 * `revenuecat` one with WEBHOOK_AUTHORIZATION (settings given in the object form override it), or the list given.
 */
export function testConfig(dir: string, config: ConfigInput = {}): ConfigInput {
  const { sources } = config;
  return {
    ...config,
    server: { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN, ...config.server },
    store: { url: `sqlite:${path.join(dir, 'ferry.db')}`, ...config.store },
    sources: Array.isArray(sources)
      ? sources
      : { revenuecat: { authorization: WEBHOOK_AUTHORIZATION, ...(sources?.revenuecat as object | undefined) } },
    delivery: { baseDelayMs: 20, maxDelayMs: 200, ...config.delivery },
    log: { level: 'debug', ...config.log },
  };
}

export interface TestRunner {
  readonly runner: Runner;
  /** The runner's container, to read a service the runner does not show (its store's backend, say). */
  readonly services: ServiceContainer;
  readonly logs: ReturnType<typeof captureLogs>;
  /** Posts to the `revenuecat` source with WEBHOOK_AUTHORIZATION; `headers` override. */
  postWebhook(body: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  /** Posts to the source `sourceId` (`/webhooks/<sourceId>`) with these headers (its credential among them) and a JSON content type. */
  postWebhookTo(sourceId: string, body: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  admin(method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<HttpAnswer>;
}

/** Fast engine polling, so tests wait milliseconds rather than seconds. */
/** A clock that stands still until the test moves it: a retry falls due only when the test says (a restart lands between two). */
export function standingClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

const TEST_TUNING: DispatcherTuning = { pollMs: 50, pausedProbeMs: 200 };

/** Starts a runner whose log lines are captured; `options.configure` replaces further bindings. */
export async function startTestRunner(config: ConfigInput, options: RunnerOptions = {}): Promise<TestRunner> {
  const logs = captureLogs();
  let container: ServiceContainer | undefined;
  const runner = await createRunner(config, {
    ...options,
    configure: (services) => {
      container = services;
      services.replaceValue(RUNNER_TOKENS.LogStream, logs.stream);
      services.replaceValue(RUNNER_TOKENS.DispatcherTuning, TEST_TUNING);
      options.configure?.(services);
    },
  });
  return {
    runner,
    services: container!,
    logs,
    postWebhook: (body, headers = {}) =>
      send('POST', `${runner.url}/webhooks/revenuecat`, body, {
        'content-type': 'application/json',
        authorization: WEBHOOK_AUTHORIZATION,
        ...headers,
      }),
    postWebhookTo: (sourceId, body, headers = {}) =>
      send('POST', `${runner.url}/webhooks/${encodeURIComponent(sourceId)}`, body, { 'content-type': 'application/json', ...headers }),
    admin: (method, pathAndQuery, body) =>
      send(method, `${runner.url}/admin${pathAndQuery}`, body === undefined ? undefined : JSON.stringify(body), {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      }),
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

// One client for every test file's requests, closed by closeHttp() so Jest exits without open handles.
let agent: Agent | undefined;

export async function send(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: string | Buffer | Readable,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  agent ??= new Agent({ connections: 64 });
  const response = await request(url, { method, body, headers, dispatcher: agent });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

export async function closeHttp(): Promise<void> {
  await agent?.close();
  agent = undefined;
}

/** Polls until `probe` answers something other than undefined/false; fails with `what` after a generous wait. */
/** Every delivery of the runner's store in a final state (delivered, skipped, dead): nothing waits or is in flight. */
export async function settled(t: TestRunner): Promise<boolean> {
  const stats = await t.runner.store.log.stats(Date.now());
  return stats.deliveries.every((row) => !['pending', 'in_flight', 'paused'].includes(row.state) || row.count === 0);
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The CleverTap record body of a stored record, typed loosely for assertions. */
export interface CleverTapRecordShape {
  type: string;
  evtName: string;
  evtData: Record<string, unknown>;
  ts: number;
  identity?: string;
  objectId?: string;
}

/** What one in-process run of the command line printed, and its exit code. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ferry ARGV…` in this process, in `cwd`, with an empty environment and stdin, capturing its output. */
export async function runFerry(cwd: string, ...argv: string[]): Promise<CliRun> {
  return runFerryWithEnv(cwd, {}, ...argv);
}

/** As runFerry, with these environment variables (and no others). */
export async function runFerryWithEnv(cwd: string, env: NodeJS.ProcessEnv, ...argv: string[]): Promise<CliRun> {
  return runFerryWith(cwd, { env }, ...argv);
}

/** As runFerry, with these environment variables and `configure` replacing bindings (offering a test plugin, say). */
export async function runFerryWith(
  cwd: string,
  options: CliOptions & { readonly env?: NodeJS.ProcessEnv },
  ...argv: string[]
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text) };
  const code = await runCli(argv, { ...io, env: options.env ?? {}, cwd, readStdin: async () => '' }, options);
  return { code, stdout, stderr };
}
