import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_ACCOUNT_ID, BENCH_AUTHORIZATION, BENCH_PASSCODE, DESTINATION_ID } from './payload';
import { RUNNER_MAIN, ServiceProcess } from './processes';

export interface RunnerSetup {
  readonly storeUrl: string;
  /**
   * The fake CleverTap's URL, or 'paused': the destination without its passcode, so each webhook still
   * plans and stores its delivery (as paused) but nothing is sent: ingest measured on its own.
   */
  readonly destination: string | 'paused';
  readonly timeoutMs?: number;
  /** The config's `delivery` section (retry timing). */
  readonly delivery?: Readonly<Record<string, number>>;
  /** The config's `retention` section. */
  readonly retention?: Readonly<Record<string, number>>;
  /** Enables the admin API with this token. */
  readonly adminToken?: string;
}

/** A ferry.config.json for the runner under test (written as JSON: apps are not imported by tools). */
export function runnerConfig(setup: RunnerSetup): Record<string, unknown> {
  const sending = setup.destination !== 'paused';
  return {
    server: { host: '127.0.0.1', port: 0, adminToken: setup.adminToken },
    store: { url: setup.storeUrl },
    sources: { revenuecat: { authorization: BENCH_AUTHORIZATION } },
    destinations: [
      {
        id: DESTINATION_ID,
        plugin: 'clevertap',
        timeoutMs: setup.timeoutMs ?? 10_000,
        settings: {
          accountId: BENCH_ACCOUNT_ID,
          ...(sending ? { passcode: BENCH_PASSCODE, endpoint: setup.destination } : {}),
        },
      },
    ],
    delivery: setup.delivery,
    retention: setup.retention,
    // Info: start-up, resume and failure lines only; nothing per webhook.
    log: { level: 'info' },
  };
}

export type RunnerChild = ServiceProcess & { readonly url: string };

/** Writes the config to `dir/name.config.json` and starts `apps/runner/dist/main.js` on it, logging to `dir/name.log`. */
export function startRunner(
  dir: string,
  name: string,
  setup: RunnerSetup,
  options: {
    readonly cpuProfileDir?: string;
    /** Another build's main.js (interleaved A/B runs); default this checkout's. */ readonly runnerMain?: string;
  } = {},
): Promise<RunnerChild> {
  const configPath = path.join(dir, `${name}.config.json`);
  writeFileSync(configPath, `${JSON.stringify(runnerConfig(setup), null, 2)}\n`);
  return ServiceProcess.start(options.runnerMain ?? RUNNER_MAIN, {
    args: ['--config', configPath],
    nodeFlags: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
    cwd: dir,
    logFile: path.join(dir, `${name}.log`),
  });
}

/** Runs `work` on a freshly started runner, stops it, and refuses the figures if it logged an error. */
export async function withRunner<T>(
  dir: string,
  name: string,
  setup: RunnerSetup,
  options: Parameters<typeof startRunner>[3],
  work: (runner: RunnerChild) => Promise<T>,
): Promise<T> {
  const runner = await startRunner(dir, name, setup, options);
  let result: T;
  try {
    result = await work(runner);
  } finally {
    await runner.stop();
  }
  runner.assertNoErrors();
  return result;
}
