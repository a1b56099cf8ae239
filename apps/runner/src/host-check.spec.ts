import { connect } from 'node:net';
import { webhookBody } from '@ferry/testkit';
import { loopbackHostCheck, parseHost } from './host-check';
import { ADMIN_TOKEN, closeHttp, startTestRunner, tempDir, testConfig, type TempDir, type TestRunner } from './testing/harness';

/** One request over a fresh connection with exactly these headers (Host included); the status line's code. */
async function statusOf(url: string, method: string, path: string, headers: Record<string, string>, body = ''): Promise<number> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const head = Object.entries({ ...headers, connection: 'close', 'content-length': String(Buffer.byteLength(body)) })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  // Written, not ended: like any HTTP client it keeps its side open until the answer (Node's server aborts a
  // request whose client half-closed before it was answered, and an ingest answers after its WAL flush).
  socket.write(`${method} ${path} HTTP/1.1\r\n${head}\r\n${body}`);
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  await new Promise((resolve, reject) => socket.on('close', resolve).on('error', reject));
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1]);
}

describe('a runner on loopback without a webhook authorization (the example config)', () => {
  let dir: TempDir;
  let t: TestRunner;
  let port: string;
  beforeAll(async () => {
    dir = await tempDir();
    t = await startTestRunner(
      testConfig(dir.path, { server: { allowedHosts: ['ferry.example.com'] }, sources: { revenuecat: { authorization: undefined } } }),
    );
    port = new URL(t.runner.url).port;
  });
  afterAll(async () => {
    await t?.runner.close();
    await closeHttp();
    await dir?.remove();
  });

  const post = (host: string, id: string) =>
    statusOf(t.runner.url, 'POST', '/webhooks/revenuecat', { host, 'content-type': 'application/json' }, webhookBody('renewal', { id }));

  it('takes a webhook under its own loopback names on its port, and a name in server.allowedHosts', async () => {
    expect(t.runner.config.sources[0].settings).toEqual({});
    expect(await post(`localhost:${port}`, 'host-localhost')).toBe(200);
    expect(await post(`127.0.0.1:${port}`, 'host-ipv4')).toBe(200);
    expect(await post(`[::1]:${port}`, 'host-ipv6')).toBe(200);
    expect(await post('Ferry.Example.COM', 'host-allowed')).toBe(200);
    expect(await post('ferry.example.com:443', 'host-allowed-port')).toBe(200);
  });

  it('answers 421 to any other name, as a DNS-rebinding page would send, and stores nothing', async () => {
    for (const host of [`attacker.example:${port}`, `localhost.attacker.example:${port}`, 'localhost', `localhost:${Number(port) + 1}`]) {
      expect({ host, status: await post(host, 'host-rebound') }).toEqual({ host, status: 421 });
    }
    expect(await t.runner.store.log.getEvent('host-rebound')).toBeUndefined();
    // Every path: the metrics and the admin API (even with the token) too.
    expect(await statusOf(t.runner.url, 'GET', '/metrics', { host: `attacker.example:${port}` })).toBe(421);
    expect(
      await statusOf(t.runner.url, 'GET', '/admin/events', { host: `attacker.example:${port}`, authorization: `Bearer ${ADMIN_TOKEN}` }),
    ).toBe(421);
    expect(await statusOf(t.runner.url, 'GET', '/metrics', { host: `localhost:${port}` })).toBe(200);
  });
});

describe('loopbackHostCheck', () => {
  it('checks nothing beyond loopback, where the webhook authorization is required', () => {
    expect(loopbackHostCheck({ host: '0.0.0.0', allowedHosts: [] })).toBeUndefined();
  });

  it('takes a port-less loopback name only on port 80, and a request without a Host header', () => {
    const check = loopbackHostCheck({ host: '127.0.0.1', allowedHosts: [] })!;
    const on = (port: number) => (host?: string) => check(host, port);
    expect(on(80)('localhost')).toBe(true);
    expect(on(8080)('localhost')).toBe(false);
    expect(on(8080)('127.0.0.2:8080')).toBe(true);
    expect(on(8080)('localhost:8080x')).toBe(false);
    expect(on(8080)(undefined)).toBe(true);
  });

  it('splits a Host header into its name and port', () => {
    expect(parseHost('[::1]:8080')).toEqual({ name: '[::1]', port: 8080 });
    expect(parseHost('[::1]')).toEqual({ name: '[::1]', port: undefined });
    expect(parseHost('LocalHost:80')).toEqual({ name: 'localhost', port: 80 });
    expect(parseHost('a.example:x')).toEqual({ name: 'a.example', port: Number.NaN });
  });
});
