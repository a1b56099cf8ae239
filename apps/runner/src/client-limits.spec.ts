import { connect, type Socket } from 'node:net';
import { Agent, request } from 'undici';
import { webhookBody } from '@ferry/testkit';
import { ADMIN_THROTTLE, FailureThrottle, RefusalLog, clientKey } from './client-limits';
import {
  ADMIN_TOKEN,
  WEBHOOK_AUTHORIZATION,
  captureLogs,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';
import { createLogger } from './logging';

/**
 * One client's share over real TCP. Every 127.0.0.0/8 address is loopback on Linux, so binding a client
 * socket to 127.0.0.2 or 127.0.0.3 makes it another client address of a runner on 127.0.0.1.
 */
const GREEDY = '127.0.0.2';
const OTHER = '127.0.0.3';

const agents: Agent[] = [];
/** A request sent from `localAddress`, over a connection of its own. */
async function sendFrom(localAddress: string, method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string) {
  const dispatcher = new Agent({ localAddress });
  agents.push(dispatcher);
  const response = await request(url, { method, headers, body, dispatcher });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
  await dir.remove();
});
afterAll(() => closeHttp());

/** The refusal lines a runner wrote, and their counts summed. */
function refusalsLogged(t: TestRunner) {
  const lines = t.logs.entries().filter((entry) => entry.msg === 'clients refused (counts since the last such line)');
  const sum = (key: string) => lines.reduce((total, line) => total + Number(line[key] ?? 0), 0);
  return { lines, sum };
}

describe('connections per client address', () => {
  it('closes a greedy client’s connections beyond its share, so another client still gets its webhook through', async () => {
    const t = await startTestRunner(testConfig(dir.path, { server: { maxConnections: 20, maxConnectionsPerClient: 5 } }));
    const { hostname, port } = new URL(t.runner.url);
    const greedy: Socket[] = [];
    let closedByServer = 0;
    try {
      // As many idle connections as the whole cap, from one address.
      for (let i = 0; i < 20; i++) {
        const socket = connect({ host: hostname, port: Number(port), localAddress: GREEDY });
        socket.on('error', () => {});
        socket.on('close', () => (closedByServer += 1));
        greedy.push(socket);
        await new Promise((resolve) => socket.once('connect', resolve));
      }
      const open = () =>
        new Promise<number>((resolve, reject) => t.runner.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
      await waitFor('the runner to have taken or closed every greedy connection', async () => (await open()) + closedByServer === 20);

      const answer = await sendFrom(
        OTHER,
        'POST',
        `${t.runner.url}/webhooks/revenuecat`,
        { 'content-type': 'application/json', authorization: WEBHOOK_AUTHORIZATION },
        webhookBody('renewal', { id: 'other-client' }),
      );
      expect(answer.status).toBe(200);
      expect(await t.runner.store.log.getEvent('other-client')).toBeDefined();
      expect(closedByServer).toBe(15);
    } finally {
      for (const socket of greedy) socket.destroy();
      await t.runner.close();
    }
    // Logged as counts, not one line per connection.
    const { lines, sum } = refusalsLogged(t);
    expect(sum('connectionsRefused')).toBe(15);
    expect(lines.length).toBeLessThanOrEqual(2);
  });
});

describe('failed admin authentications', () => {
  it('are throttled per client address: 429 with Retry-After after the burst, while another address signs in', async () => {
    const t = await startTestRunner(testConfig(dir.path));
    const events = `${t.runner.url}/admin/events?user=throttled-user-7c1e`;
    try {
      for (let i = 0; i < ADMIN_THROTTLE.burst; i++) {
        expect((await sendFrom(GREEDY, 'GET', events, { authorization: `Bearer wrong-token-${i}-0123456789` })).status).toBe(401);
      }
      const throttled = await sendFrom(GREEDY, 'GET', events, { authorization: 'Bearer wrong-token-x-0123456789' });
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(throttled.text).error).toMatch(/^too many failed admin authentications from this address: try again in \d+ s$/);
      // The right token does not lift it: a guesser could not tell a hit from a miss.
      expect((await sendFrom(GREEDY, 'GET', events, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(429);
      expect((await sendFrom(OTHER, 'GET', events, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
      // The webhook, on the same address, is not throttled.
      const webhook = await sendFrom(
        GREEDY,
        'POST',
        `${t.runner.url}/webhooks/revenuecat`,
        { 'content-type': 'application/json', authorization: WEBHOOK_AUTHORIZATION },
        webhookBody('renewal', { id: 'same-address' }),
      );
      expect(webhook.status).toBe(200);
    } finally {
      await t.runner.close();
    }
    const { lines, sum } = refusalsLogged(t);
    expect({ unauthorized: sum('adminUnauthorized'), throttled: sum('adminThrottled') }).toEqual({
      unauthorized: ADMIN_THROTTLE.burst,
      throttled: 2,
    });
    expect(lines.length).toBeLessThanOrEqual(2);
    // No line per try: the refused requests are only counted.
    expect(t.logs.entries().filter((entry) => entry.statusCode === 401 || entry.statusCode === 429)).toEqual([]);
    expect(t.logs.text()).not.toContain('wrong-token');
  });
});

describe('FailureThrottle', () => {
  it('allows one more try per refill interval once the burst is used, and forgets the least recently seen client', () => {
    let nowMs = 0;
    const throttle = new FailureThrottle({ burst: 3, refillMs: 1_000, maxClients: 2 }, () => nowMs);
    for (let i = 0; i < 3; i++) {
      expect(throttle.waitMs('a')).toBe(0);
      throttle.failed('a');
    }
    expect(throttle.waitMs('a')).toBe(1_000);
    nowMs = 400;
    expect(throttle.waitMs('a')).toBe(600);
    nowMs = 1_000;
    expect(throttle.waitMs('a')).toBe(0);
    throttle.failed('a');
    expect(throttle.waitMs('a')).toBe(1_000);

    throttle.failed('b');
    throttle.failed('c');
    expect(throttle.clients).toBe(2);
    expect(throttle.waitMs('a')).toBe(0); // forgotten: it starts with a full burst
  });
});

describe('RefusalLog', () => {
  afterEach(() => jest.useRealTimers());

  it('writes the first refusal at once, then at most one line of counts per interval, and the rest when flushed', () => {
    jest.useFakeTimers();
    const logs = captureLogs();
    const refusals = new RefusalLog(createLogger({ level: 'info', secrets: [], stream: logs.stream }), 60_000);
    for (let i = 0; i < 1_000; i++) refusals.note('adminUnauthorized', `client-${i % 7}`);
    expect(logs.entries()).toHaveLength(1);
    jest.advanceTimersByTime(60_000);
    refusals.note('connectionsRefused', 'client-0');
    jest.advanceTimersByTime(60_000);
    refusals.note('adminThrottled', 'client-0');
    refusals.flush();
    const lines = logs.entries();
    expect(
      lines.map(({ adminUnauthorized, adminThrottled, connectionsRefused, clients }) => ({
        adminUnauthorized,
        adminThrottled,
        connectionsRefused,
        clients,
      })),
    ).toEqual([
      { adminUnauthorized: 1, clients: 1 },
      { adminUnauthorized: 999, clients: 7 },
      { connectionsRefused: 1, clients: 1 },
      { adminThrottled: 1, clients: 1 },
    ]);
  });
});

describe('clientKey', () => {
  it('is the IPv4 address (IPv4-mapped too), or the /64 network of an IPv6 one', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::ffff:1')).toBe(clientKey('2001:0db8:0001:0002:1234:5678:9abc:def0'));
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});
