import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  secret,
  secretSettingKeys,
  standardCheckVerdict,
  standardFailureOutcomes,
  TOKENS,
  type Capabilities,
  type Clock,
  type DestinationPlugin,
} from '@ferry/core';
import { UndiciTransport, type DestinationInstance } from '@ferry/engine';
import { AdminService } from './admin';
import { CHECK_REUSE_MS } from './admin/connection-checks';
import { checkDestination } from './admin/destinations';
import type { ConfigInput } from './config';
import type { ServiceContainer } from './service-container';
import { offerStatePlugin, statePlugin } from './testing/state-plugin';
import {
  SECRETS,
  closeHttp,
  runFerryWith,
  startTestRunner,
  tempDir,
  testConfig,
  type CliRun,
  type TempDir,
  type TestRunner,
} from './testing/harness';

// Connection checks (SPEC §15) through the runner's admin API and the command line, against a real HTTP server
// that takes one passcode. The plugins' own checks, against the fakes, are the contract kit's and the plugins' tests.

const RIGHT_PASSCODE = 'check-passcode-6d1f8a3e9c';
const WRONG_PASSCODE = 'wrong-passcode-2b7e5c9a41';
const USER = 'check-account';

const CheckSettings = z.object({ url: z.string(), passcode: secret(z.string()).optional() });
type CheckSettings = z.output<typeof CheckSettings>;

const capabilities: Capabilities = {
  batch: { maxItems: 10 },
  maxConcurrency: 1,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'forward',
  kinds: {},
};

/** A destination whose account takes one passcode: its check reads the account with it, changing nothing. */
const checkPlugin: DestinationPlugin<CheckSettings> = {
  id: 'check-test',
  displayName: 'Connection check (test)',
  settings: CheckSettings,
  secrets: secretSettingKeys(CheckSettings),
  exampleSettings: { url: 'http://127.0.0.1:9', passcode: RIGHT_PASSCODE },
  capabilities,
  filter: () => ({ rule: 'test', reason: 'this plugin only checks connections' }),
  eventName: () => '',
  revenue: () => ({ amount: 0, currency: 'USD' }),
  identity: () => ({}),
  buildRequests: () => [],
  parseResponse: (request, result) => standardFailureOutcomes(request, result),
  missingConfig: (settings) => (settings.passcode ? [] : ['passcode']),
  connectionCheck: {
    request: (settings) => ({
      method: 'GET',
      url: `${settings.url}/account`,
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${settings.passcode ?? ''}`).toString('base64')}` },
    }),
    readAnswer: (result) => standardCheckVerdict(result),
  },
};

function offerPlugins(services: ServiceContainer): void {
  services.bindValue(TOKENS.DestinationPlugin, checkPlugin);
  offerStatePlugin(services);
}

/**
 * The destination's account API: 200 for the right passcode; otherwise 401, echoing the passcode it was given
 * as it came and inside the Authorization value, as a careless API might. `hold()` keeps answers back until
 * `release()`.
 */
interface AccountApi {
  readonly url: string;
  /** Checks received, in order: the passcode each carried. */
  readonly received: string[];
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

async function startAccountApi(): Promise<AccountApi> {
  const received: string[] = [];
  let held: (() => void)[] | undefined;
  const answer = (request: IncomingMessage, response: ServerResponse) => {
    const authorization = request.headers.authorization ?? '';
    const passcode =
      Buffer.from(authorization.replace(/^Basic /, ''), 'base64')
        .toString('utf8')
        .split(':')[1] ?? '';
    received.push(passcode);
    const reply = () =>
      passcode === RIGHT_PASSCODE
        ? response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}')
        : response
            .writeHead(401, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: `passcode ${passcode} is not valid`, authorization }));
    if (held) held.push(reply);
    else reply();
  };
  const server: Server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    hold: () => void (held = []),
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const reply of waiting) reply();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An address nothing listens on: a server's, once closed. */
async function closedPortUrl(): Promise<string> {
  const api = await startAccountApi();
  await api.close();
  return api.url;
}

const ALL_SECRETS = [...SECRETS, RIGHT_PASSCODE, WRONG_PASSCODE];
const expectNoSecret = (text: string) => {
  for (const secretValue of ALL_SECRETS) expect(text).not.toContain(secretValue);
  // The echoed Authorization value: base64 of the user and passcode.
  expect(text).not.toContain(Buffer.from(`${USER}:${WRONG_PASSCODE}`).toString('base64'));
};

let dir: TempDir;
let api: AccountApi;
let downUrl: string;

beforeEach(async () => {
  dir = await tempDir();
  api = await startAccountApi();
  downUrl = await closedPortUrl();
});
afterEach(async () => {
  await api.close();
  await dir.remove();
});
afterAll(() => closeHttp());

/** Accepted, refused, unreachable, lacking its passcode, and a plugin with no check. */
function destinations(): ConfigInput['destinations'] {
  return [
    { id: 'check-right', plugin: 'check-test', settings: { url: api.url, passcode: RIGHT_PASSCODE } },
    { id: 'check-wrong', plugin: 'check-test', settings: { url: api.url, passcode: WRONG_PASSCODE } },
    { id: 'check-down', plugin: 'check-test', settings: { url: downUrl, passcode: RIGHT_PASSCODE } },
    { id: 'check-unset', plugin: 'check-test', settings: { url: api.url } },
    { id: 'no-check', plugin: statePlugin.id, settings: { url: api.url } },
  ];
}

describe('GET /admin/destinations/:id/check', () => {
  let t: TestRunner;
  beforeEach(async () => {
    t = await startTestRunner(testConfig(dir.path, { destinations: destinations() }), { configure: offerPlugins });
  });
  afterEach(() => t.runner.close());

  it('answers ok true for accepted credentials, false with the reason for refused ones, null when it cannot tell', async () => {
    const check = async (id: string) => {
      const answer = await t.admin('GET', `/destinations/${id}/check`);
      expect(answer.status).toBe(200);
      expectNoSecret(answer.text);
      return answer.json;
    };
    expect(await check('check-right')).toEqual({ ok: true, status: 200, reason: 'HTTP 200: credentials accepted' });
    const refused = await check('check-wrong');
    expect(refused).toMatchObject({ ok: false, status: 401 });
    expect(refused.reason).toMatch(/^credentials refused: HTTP 401: .*passcode \[redacted\] is not valid/);
    expect(await check('check-down')).toEqual({ ok: null, status: null, reason: expect.stringMatching(/^network: /) });
    // Nothing is sent without the passcode: the answer says what is missing.
    expect(await check('check-unset')).toEqual({ ok: false, status: null, reason: 'missing configuration: passcode' });
    expect(await check('no-check')).toEqual({ ok: null, status: null, reason: 'not supported' });
    expect(api.received).toEqual([RIGHT_PASSCODE, WRONG_PASSCODE]);
    expectNoSecret(t.logs.text());
  });

  it('answers 404 naming an unknown destination', async () => {
    const answer = await t.admin('GET', '/destinations/nowhere/check');
    expect(answer.status).toBe(404);
    expect(answer.json.error).toContain('"nowhere"');
    expect(api.received).toEqual([]);
  });
});

describe('the admin service', () => {
  const transport = new UndiciTransport();
  afterAll(() => transport.close());

  const instance = (id: string, passcode: string): DestinationInstance => ({
    id,
    plugin: checkPlugin,
    settings: { url: api.url, passcode },
    concurrency: 1,
    timeoutMs: 5_000,
  });

  it("redacts the destination's secrets from the reason, in whatever form the destination echoed them", async () => {
    // Called directly, without the HTTP server's own redaction of every configured secret.
    const admin = new AdminService({ destinations: [instance('check-wrong', WRONG_PASSCODE)], transport });
    const answer = await admin.call(checkDestination, { params: { id: 'check-wrong' } });
    expect(answer.ok).toBe(false);
    expect(api.received).toEqual([WRONG_PASSCODE]);
    expect(answer.reason).toContain('passcode [redacted] is not valid');
    // The base64 of the user before it stays: only what encodes the passcode goes.
    expect(answer.reason).toMatch(/"authorization":"Basic [A-Za-z0-9+/]*\[redacted\]/);
    expectNoSecret(answer.reason);
  });

  it('sends one check at a time per destination, and reuses its verdict for a moment', async () => {
    let now = 1_000_000;
    const clock: Clock = { now: () => now };
    const destinations = [instance('check-right', RIGHT_PASSCODE), instance('check-wrong', WRONG_PASSCODE)];
    const admin = new AdminService({ destinations, transport, clock });
    const check = (id: string) => admin.call(checkDestination, { params: { id } });

    api.hold();
    const pressedTwice = [check('check-right'), check('check-right'), check('check-wrong')];
    await new Promise<void>((resolve) => {
      const poll = () => (api.received.length === 2 ? resolve() : setTimeout(poll, 10));
      poll();
    });
    api.release();
    const [first, second, other] = await Promise.all(pressedTwice);
    expect(second).toEqual(first);
    expect(first.ok).toBe(true);
    expect(other.ok).toBe(false);
    // Another destination is checked on its own: one request each.
    expect([...api.received].sort()).toEqual([RIGHT_PASSCODE, WRONG_PASSCODE].sort());

    now += CHECK_REUSE_MS - 1;
    expect(await check('check-right')).toEqual(first);
    expect(api.received).toHaveLength(2);
    now += 1;
    expect(await check('check-right')).toEqual(first);
    expect(api.received).toHaveLength(3);
  });
});

describe('the command line', () => {
  let config: string;
  beforeEach(async () => {
    config = path.join(dir.path, 'ferry.config.json');
    await writeFile(config, JSON.stringify(testConfig(dir.path, { destinations: destinations() })));
  });
  const ferry = async (...argv: string[]): Promise<CliRun> => {
    const run = await runFerryWith(dir.path, { configure: offerPlugins }, ...argv, '--config', config);
    expectNoSecret(run.stdout + run.stderr);
    return run;
  };
  const table = (run: CliRun) => run.stdout.trimEnd().split('\n');

  it('destinations check: a table of every destination, exit 1 when any refused, with no runner running', async () => {
    const run = await ferry('destinations', 'check');
    expect(run.code).toBe(1);
    const [header, ...rows] = table(run);
    expect(header).toMatch(/^DESTINATION\s+OK\s+STATUS\s+REASON$/);
    expect(rows).toEqual([
      expect.stringMatching(/^check-right\s+yes\s+200\s+HTTP 200: credentials accepted$/),
      expect.stringMatching(/^check-wrong\s+NO\s+401\s+credentials refused: HTTP 401: .*passcode \[redacted\] is not valid/),
      expect.stringMatching(/^check-down\s+-\s+-\s+network: /),
      expect.stringMatching(/^check-unset\s+NO\s+-\s+missing configuration: passcode$/),
      expect.stringMatching(/^no-check\s+-\s+-\s+not supported$/),
    ]);
    expect(run.stderr).toBe('ferry: refused, or missing credentials: check-wrong, check-unset\n');
  });

  it('destinations check ID: that one only; --json gives the API answer', async () => {
    const run = await ferry('destinations', 'check', 'check-right');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(table(run)).toHaveLength(2);
    expect(api.received).toEqual([RIGHT_PASSCODE]);
    expect(JSON.parse((await ferry('destinations', 'check', 'no-check', '--json')).stdout)).toEqual({
      ok: null,
      status: null,
      reason: 'not supported',
    });
    const all = await ferry('destinations', 'check', '--json');
    expect(JSON.parse(all.stdout).destinations.map((check: { id: string; ok: boolean | null }) => [check.id, check.ok])).toEqual([
      ['check-right', true],
      ['check-wrong', false],
      ['check-down', null],
      ['check-unset', false],
      ['no-check', null],
    ]);
  });

  it('destinations check names what is wrong with its arguments', async () => {
    expect(await ferry('destinations', 'check', 'nowhere')).toMatchObject({ code: 1, stderr: 'ferry: no destination with id "nowhere"\n' });
    expect(await ferry('destinations', 'check', 'check-right', 'check-wrong')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('"destinations check" takes [ID] only, got "check-right check-wrong"'),
    });
    expect(await ferry('destinations', 'check', '--online')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown flag --online for "destinations check"'),
    });
    expect(api.received).toEqual([]);
  });

  it('config check --online checks every destination after the offline checks', async () => {
    const offline = await ferry('config', 'check');
    expect(offline).toMatchObject({ code: 0, stderr: '' });
    expect(offline.stdout).not.toContain('DESTINATION');
    expect(api.received).toEqual([]);

    const online = await ferry('config', 'check', '--online');
    expect(online.code).toBe(1);
    expect(online.stdout.startsWith(offline.stdout)).toBe(true);
    expect(online.stdout.slice(offline.stdout.length)).toMatch(/^DESTINATION\s+OK\s+STATUS\s+REASON\ncheck-right\s+yes\s+200/);
    expect(online.stderr).toBe('ferry: refused, or missing credentials: check-wrong, check-unset\n');
    // The destinations are checked side by side: in no particular order.
    expect([...api.received].sort()).toEqual([RIGHT_PASSCODE, WRONG_PASSCODE].sort());

    expect(await ferry('config', 'check', '--online=yes')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("'--online' does not take an argument"),
    });
  });

  it('config check --online exits 0 when no destination refuses', async () => {
    const accepted = destinations()!.filter((destination) => ['check-right', 'check-down', 'no-check'].includes(destination.id));
    await writeFile(config, JSON.stringify(testConfig(dir.path, { destinations: accepted })));
    const run = await ferry('config', 'check', '--online');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(table(run).slice(-3)).toEqual([
      expect.stringMatching(/^check-right\s+yes/),
      expect.stringMatching(/^check-down\s+-/),
      expect.stringMatching(/^no-check\s+-/),
    ]);
  });
});
