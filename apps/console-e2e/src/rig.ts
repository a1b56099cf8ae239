import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { startFakeAmplitude, startFakeCleverTap, type FakeAmplitude, type FakeCleverTap } from '@ferry/testkit';

/**
 * A real runner (the built apps/runner/dist/main.js, as `npm start` runs it) on a temporary SQLite file, the
 * strict fake CleverTap behind it, and Debian's Chromium on the console: what the browser suites and the
 * screenshot script drive.
 */

const MAIN = path.resolve(__dirname, '../../runner/dist/main.js');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

// Debian's chromium, never a downloaded browser.
export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

export const ADMIN_TOKEN = 'console-e2e-admin-token-5d8f2a9c41b7';
export const WEBHOOK_AUTHORIZATION = 'Bearer console-e2e-hook-3c9e7b1a';
export const ACCOUNT_ID = 'E2E-ACC-001';
export const PASSCODE = 'console-e2e-passcode-8b2f6d4e';
export const DESTINATION = 'clevertap-main';
export const AMPLITUDE_DESTINATION = 'amplitude-main';
const AMPLITUDE_API_KEY = 'console-e2e-amplitude-key-1f7c';
const AMPLITUDE_SECRET_KEY = 'console-e2e-amplitude-secret-9a3d';

export interface RigOptions {
  /** The browser window; a laptop's by default. */
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Also a second destination, Amplitude (the strict fake), whose plugin erases users at the destination. */
  readonly amplitude?: boolean;
  /** More CleverTap settings for the destination (`profileSync: true` sends the subscription state). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

export interface ConsoleRig {
  /** The temporary folder holding the runner's config and its SQLite file (`ferry.db`). */
  readonly dir: string;
  readonly url: string;
  readonly fake: FakeCleverTap;
  /** The fake Amplitude, when asked for. */
  readonly amplitude?: FakeAmplitude;
  readonly page: Page;
  /** Console errors and page errors seen since the last `takeProblems`: a suite fails on any. */
  takeProblems(): string[];
  /** Runs a step during which the runner is expected to refuse with `status` (Chromium logs each refusal as an error). */
  expectingRefusal(status: number, step: () => Promise<void>): Promise<void>;
  /** Calls the runner's admin API (`path` under /admin) with the admin token, expecting a 2xx; answers its JSON. */
  admin<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  /** Posts a webhook to the RevenueCat source and expects it stored. */
  postWebhook(body: string): Promise<void>;
  /** Waits until `probe` answers something, naming `what` and showing the runner's output if it never does. */
  until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T>;
  /** Signs in with the admin token and waits for the overview. */
  signIn(): Promise<void>;
  /** Clicks a link of the console's navigation, through the menu button on a narrow screen. */
  navigate(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startConsoleRig(options: RigOptions = {}): Promise<ConsoleRig> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-console-e2e-'));
  const fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
  const amplitude = options.amplitude
    ? await startFakeAmplitude({ projects: { production: AMPLITUDE_API_KEY }, secretKeys: { production: AMPLITUDE_SECRET_KEY } })
    : undefined;
  const config = {
    server: { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN },
    store: { url: `sqlite:${path.join(dir, 'ferry.db')}` },
    sources: { revenuecat: { authorization: WEBHOOK_AUTHORIZATION } },
    destinations: [
      {
        id: DESTINATION,
        plugin: 'clevertap',
        timeoutMs: 2_000,
        settings: { endpoint: fake.url, accountId: ACCOUNT_ID, passcode: PASSCODE, ...options.settings },
      },
      ...(amplitude
        ? [
            {
              id: AMPLITUDE_DESTINATION,
              plugin: 'amplitude',
              timeoutMs: 2_000,
              settings: { endpoint: amplitude.url, apiKey: AMPLITUDE_API_KEY, secretKey: AMPLITUDE_SECRET_KEY },
            },
          ]
        : []),
    ],
    delivery: { baseDelayMs: 20, maxDelayMs: 200 },
    log: { level: 'info' },
  };
  const configFile = path.join(dir, 'ferry.config.json');
  await writeFile(configFile, JSON.stringify(config));
  let runnerOutput = '';
  const runner: ChildProcess = spawn(process.execPath, [MAIN, '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  runner.stdout?.on('data', (chunk: Buffer) => (runnerOutput += chunk));
  runner.stderr?.on('data', (chunk: Buffer) => (runnerOutput += chunk));

  async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; runner output:\n${runnerOutput.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const url = await until('the runner to listen', () => /"url":"(http:\/\/[^"]+)"/.exec(runnerOutput)?.[1]);

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 860 } });
  const problems: string[] = [];
  let refusalExpected: number | undefined;
  // The console must work offline: a request to any host but this machine is a problem.
  await context.route('**/*', (route) => {
    const requested = new URL(route.request().url());
    if (LOOPBACK.has(requested.hostname)) return route.continue();
    problems.push(`foreign request: ${requested.href}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() !== 'error') return;
    if (refusalExpected && message.text().includes(`the server responded with a status of ${refusalExpected}`)) return;
    problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page: ${error.message}`));

  return {
    dir,
    url,
    fake,
    amplitude,
    page,
    takeProblems: () => problems.splice(0),
    async expectingRefusal(status, step) {
      refusalExpected = status;
      try {
        await step();
      } finally {
        refusalExpected = undefined;
      }
    },
    async admin<T>(method: 'GET' | 'POST', adminPath: string, body?: unknown) {
      const answer = await fetch(`${url}/admin${adminPath}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await answer.text();
      if (answer.status < 200 || answer.status >= 300) throw new Error(`${method} /admin${adminPath} answered ${answer.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    async postWebhook(body) {
      const answer = await fetch(`${url}/webhooks/revenuecat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: WEBHOOK_AUTHORIZATION },
        body,
      });
      if (answer.status !== 200) throw new Error(`the webhook answered ${answer.status}: ${await answer.text()}`);
    },
    until,
    async signIn() {
      await page.goto(`${url}/console`);
      await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
    },
    async navigate(name) {
      // On a narrow screen the pages are folded behind the menu button.
      const menu = page.getByRole('button', { name: 'Menu' });
      if ((await menu.isVisible()) && (await menu.getAttribute('aria-expanded')) !== 'true') await menu.click();
      await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
    },
    async close() {
      await browser.close();
      runner.kill('SIGTERM');
      if (runner.exitCode === null) await new Promise((resolve) => runner.once('exit', resolve));
      await fake.close();
      await amplitude?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
