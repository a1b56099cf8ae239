import type { DeliveryRequest, HttpResult } from '@ferry/core';
import { createServer } from 'node:net';
import { UndiciTransport } from './transport';
import { sendJson, startServer, waitFor, type TestServer } from './testing/http-server';

const secret = 'pc-7f3a9c1e-secret';

function request(url: string, body = '{"d":[]}'): DeliveryRequest {
  return {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', 'x-clevertap-passcode': secret },
    body,
    deliveryIds: ['d1'],
    concurrencyKey: 'k',
  };
}

function expectNoSecret(result: HttpResult): void {
  expect(JSON.stringify(result)).not.toContain(secret);
}

describe('UndiciTransport', () => {
  let transport: UndiciTransport;
  let server: TestServer | undefined;

  beforeEach(() => {
    transport = new UndiciTransport();
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await transport.close();
  });

  it('sends method, path, query, headers and body, and returns status, lower-case joined headers and body', async () => {
    server = await startServer((_request, response) => {
      response.setHeader('X-Multi', ['a', 'b']);
      sendJson(response, 201, { status: 'success', processed: 1 }, { 'Retry-After': '3' });
    });
    const result = await transport.send(request(`${server.url}/1/upload?dryRun=1`), 5_000);

    expect(result).toEqual({
      kind: 'response',
      status: 201,
      headers: expect.objectContaining({ 'content-type': 'application/json', 'retry-after': '3', 'x-multi': 'a, b' }),
      body: '{"status":"success","processed":1}',
    });
    expect(server.received).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/1/upload?dryRun=1',
        body: '{"d":[]}',
        headers: expect.objectContaining({ 'x-clevertap-passcode': secret }),
      }),
    ]);
  });

  it('returns non-JSON and error bodies verbatim', async () => {
    server = await startServer((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html><body>Bad gateway</body></html>');
    });
    expect(await transport.send(request(server.url), 5_000)).toMatchObject({
      kind: 'response',
      status: 502,
      body: '<html><body>Bad gateway</body></html>',
    });
  });

  it('carries big request and response bodies intact', async () => {
    const big = JSON.stringify({ d: 'x'.repeat(2 * 1024 * 1024) });
    server = await startServer((received, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(received.body.toUpperCase());
    });
    const result = await transport.send(request(server.url, big), 10_000);
    expect(server.received[0].body).toBe(big);
    expect(result.kind === 'response' && result.body).toBe(big.toUpperCase());
  });

  it('refuses a response bigger than the limit as a network error', async () => {
    const limited = new UndiciTransport({ maxResponseBytes: 1024 });
    server = await startServer((_request, response) => {
      response.writeHead(200);
      response.end('y'.repeat(64 * 1024));
    });
    const result = await limited.send(request(server.url), 5_000);
    await limited.close();
    expect(result.kind).toBe('network');
  });

  it('times out when no response comes, without quoting the request', async () => {
    server = await startServer(() => undefined); // never answers
    const result = await transport.send(request(server.url), 100);
    expect(result).toEqual({ kind: 'timeout', message: 'no complete response within 100 ms' });
  });

  it('times out when the body trickles in forever (the overall timer, not only the idle timeouts)', async () => {
    const timers: NodeJS.Timeout[] = [];
    server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"status":');
      timers.push(setInterval(() => response.write(' '), 20));
    });
    const result = await transport.send(request(server.url), 300);
    timers.forEach(clearInterval);
    expect(result.kind).toBe('timeout');
    expectNoSecret(result);
  });

  it('reports a connection reset as a network error', async () => {
    server = await startServer((_request, response) => response.socket?.destroy());
    const result = await transport.send(request(server.url), 5_000);
    expect(result.kind).toBe('network');
    if (result.kind === 'network') expect(result.message).not.toBe('');
    expectNoSecret(result);
  });

  it('reports a refused connection as a network error', async () => {
    const port = await closedPort();
    const result = await transport.send(request(`http://127.0.0.1:${port}/1/upload`), 5_000);
    expect(result.kind).toBe('network');
    if (result.kind === 'network') expect(result.message).toMatch(/ECONNREFUSED/);
    expectNoSecret(result);
  });

  it('never throws: a malformed URL and a closed transport come back as network errors', async () => {
    expect(await transport.send(request('not a url'), 1_000)).toEqual({
      kind: 'network',
      message: 'the request URL is not a valid http(s) URL',
    });
    expect((await transport.send(request('ftp://127.0.0.1/x'), 1_000)).kind).toBe('network');
    await transport.close();
    expect(await transport.send(request('http://127.0.0.1:9/x'), 1_000)).toEqual({ kind: 'network', message: 'the transport is closed' });
  });

  it('keeps connections to an origin alive across requests', async () => {
    server = await startServer((_request, response) => sendJson(response, 200, {}));
    for (let i = 0; i < 10; i += 1)
      expect(await transport.send(request(server.url), 5_000)).toMatchObject({ kind: 'response', status: 200 });
    expect(server.received).toHaveLength(10);
    // Without keep-alive this would be ten; undici may open a second one while the first is still settling.
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it('sends concurrent requests to one origin in parallel', async () => {
    const held: (() => void)[] = [];
    server = await startServer((_request, response) => held.push(() => sendJson(response, 200, {})));
    const sending = Promise.all(Array.from({ length: 6 }, () => transport.send(request(server!.url), 5_000)));
    await waitFor(() => held.length === 6, 'all six requests to arrive before any is answered');
    held.forEach((answer) => answer());
    expect((await sending).map((result) => result.kind === 'response' && result.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
