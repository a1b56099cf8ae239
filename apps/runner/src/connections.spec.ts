import { connect, type Socket } from 'node:net';
import {
  WEBHOOK_AUTHORIZATION,
  send,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';

/**
 * Slow and idle clients over real TCP: each is cut off by a timeout (kept short here), whatever path it
 * asks for, and connections beyond the cap are closed as they open. A client never cut off fails by
 * Jest's timeout; nothing here measures how long the cut-off took.
 */
const CUT_OFF_WITHIN_MS = 15_000;

let dir: TempDir;
let t: TestRunner;

beforeAll(async () => {
  dir = await tempDir();
  t = await startTestRunner(testConfig(dir.path, { server: { requestTimeoutMs: 300, keepAliveTimeoutMs: 200 } }));
});

afterAll(async () => {
  await t?.runner.close();
  await closeHttp();
  await dir?.remove();
});

interface RawClient {
  readonly socket: Socket;
  /** The Host header value the runner answers to (it listens on loopback and checks it). */
  readonly host: string;
  /** Everything the server has sent so far. */
  received(): string;
  /** Resolves once the server has closed the connection. */
  readonly closed: Promise<void>;
}

async function rawClient(url: string): Promise<RawClient> {
  const { hostname, port, host } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  // A connection refused or reset by the server is what some tests wait for.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  return { socket, host, received: () => received, closed };
}

/** Writes one byte of `text` at a time, never finishing, until the connection closes. */
function trickle(client: RawClient, text: string): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at < text.length && !client.socket.destroyed) client.socket.write(text[at++]);
  }, 20);
  void client.closed.then(() => clearInterval(timer));
}

describe('slow and idle clients', () => {
  it(
    'are cut off while sending headers',
    async () => {
      const client = await rawClient(t.runner.url);
      trickle(client, `GET /healthz HTTP/1.1\r\nHost: ${client.host}\r\nX-Slow: ${'a'.repeat(10_000)}`);
      await client.closed;
    },
    CUT_OFF_WITHIN_MS,
  );

  it.each([
    ['the webhook', '/webhooks/revenuecat', { authorization: WEBHOOK_AUTHORIZATION }],
    ['the webhook, without credentials', '/webhooks/revenuecat', {}],
    ['/healthz', '/healthz', {}],
    ['an unknown path', '/no/such/path', {}],
  ])(
    'are cut off while sending a body to %s',
    async (_name, path, headers: Record<string, string>) => {
      const client = await rawClient(t.runner.url);
      const head = Object.entries({ host: client.host, 'content-type': 'application/json', 'content-length': '5000', ...headers })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      client.socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
      trickle(client, `{"event": "${'x'.repeat(4_990)}"}`);
      await client.closed;
    },
    CUT_OFF_WITHIN_MS,
  );

  it(
    'are cut off when idle between requests',
    async () => {
      const client = await rawClient(t.runner.url);
      client.socket.write(`GET /healthz HTTP/1.1\r\nHost: ${client.host}\r\n\r\n`);
      await client.closed;
      expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    },
    CUT_OFF_WITHIN_MS,
  );
});

describe('the connection cap', () => {
  it(
    'closes connections beyond it as they open, and takes new ones once others have closed',
    async () => {
      const own = await tempDir();
      const capped = await startTestRunner(testConfig(own.path, { server: { maxConnections: 2 } }));
      const clients: RawClient[] = [];
      try {
        // Two kept-alive connections, each known to the server because it has answered on it.
        for (let i = 0; i < 2; i++) {
          const client = await rawClient(capped.runner.url);
          clients.push(client);
          client.socket.write(`GET /healthz HTTP/1.1\r\nHost: ${client.host}\r\n\r\n`);
          await waitFor('the answer', () => /^HTTP\/1\.1 200 /.test(client.received()));
        }
        const refused = await rawClient(capped.runner.url).catch(() => undefined);
        if (refused) {
          refused.socket.write(`GET /healthz HTTP/1.1\r\nHost: ${refused.host}\r\n\r\n`);
          await refused.closed;
          expect(refused.received()).toBe('');
        }

        clients[0].socket.destroy();
        await waitFor('a connection to be taken again', async () => {
          const answer = await send('GET', `${capped.runner.url}/healthz`).catch(() => undefined);
          return answer?.status === 200;
        });
      } finally {
        for (const client of clients) client.socket.destroy();
        await capped.runner.close();
        await own.remove();
      }
    },
    CUT_OFF_WITHIN_MS,
  );
});
