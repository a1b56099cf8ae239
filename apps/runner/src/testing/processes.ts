import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startFakeCleverTap, webhookBody, type FakeCleverTap, type FakeCleverTapOptions } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  WEBHOOK_AUTHORIZATION,
  closeHttp,
  send,
  tempDir,
  waitFor,
  type CleverTapRecordShape,
  type HttpAnswer,
  type TempDir,
} from './harness';

/** The built entry points, as `npm start` and `npm run ferry` run them (the test target builds them first). */
export const MAIN = path.resolve(__dirname, '../../dist/main.js');
export const CLI = path.resolve(__dirname, '../../dist/cli-main.js');

/** A child process whose stdout JSON lines and stderr are kept. */
export class Child {
  readonly lines: Record<string, unknown>[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(script: string, args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [script, ...args], {
      cwd,
      env: { ...process.env, FERRY_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk;
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line (the CLI prints text)
        }
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The runner's base URL, once it says it listens. */
  async url(): Promise<string> {
    const line = await waitFor(`the runner to listen (stderr: ${this.stderr})`, () =>
      this.lines.find((entry) => typeof entry.url === 'string'),
    );
    return String(line.url);
  }
}

/** A renewal webhook whose id also travels as a subscriber attribute, so each CleverTap record names its webhook. */
export const probeWebhook = (id: string) =>
  webhookBody('renewal', { id, subscriber_attributes: { probe: { value: id, updated_at_ms: 1 } } });

/** The webhook id a CleverTap record carries (see probeWebhook). */
export const probeOf = (record: unknown) => (record as CleverTapRecordShape).evtData.probe;

/** Posts a webhook as RevenueCat does, to the runner at `url`: to its source `sourceId` (default `revenuecat`) with `authorization`. */
export const postWebhookTo = (
  url: string,
  body: string,
  { sourceId = 'revenuecat', authorization = WEBHOOK_AUTHORIZATION }: { sourceId?: string; authorization?: string } = {},
): Promise<HttpAnswer> => send('POST', `${url}/webhooks/${sourceId}`, body, { 'content-type': 'application/json', authorization });

/** What each test of a child-process spec gets: a temp dir, the fake CleverTap with the test account, and `run`. */
export interface ChildProcessBed {
  readonly dir: TempDir;
  readonly fake: FakeCleverTap;
  /** Starts `script` in the temp dir; it is killed and awaited after the test. */
  run(script: string, ...args: string[]): Child;
  /** Swaps the fake for one started with these options (the test account kept), e.g. a slow one. */
  replaceFake(options: FakeCleverTapOptions): Promise<FakeCleverTap>;
}

/** Registers the hooks that give every test of the calling spec a fresh bed and clean it up after. */
export function childProcessBed(): ChildProcessBed {
  let dir: TempDir | undefined;
  let fake: FakeCleverTap | undefined;
  const children: Child[] = [];
  const startFake = (options: FakeCleverTapOptions = {}) => startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, ...options });
  beforeEach(async () => {
    dir = await tempDir();
    fake = await startFake();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.alive) child.kill('SIGKILL');
      await child.exited;
    }
    await fake?.close();
    await dir?.remove();
  });
  afterAll(() => closeHttp());
  return {
    get dir() {
      return dir!;
    },
    get fake() {
      return fake!;
    },
    run(script, ...args) {
      const child = new Child(script, args, dir!.path);
      children.push(child);
      return child;
    },
    async replaceFake(options) {
      await fake?.close();
      fake = await startFake(options);
      return fake;
    },
  };
}
