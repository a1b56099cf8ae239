import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { guardNetwork } from './network-guard';

describe('guardNetwork', () => {
  let server: http.Server;
  let port: number;
  let received = 0;

  beforeAll(async () => {
    server = http.createServer((_request, response) => {
      received += 1;
      response.setHeader('connection', 'close');
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses fetch, node:http and raw sockets while installed, naming each attempt', async () => {
    const guard = guardNetwork();
    try {
      await expect(fetch(`http://127.0.0.1:${port}/a`)).rejects.toThrow('no network access in the contract suite: fetch http://127.0.0.1');
      expect(() => http.get(`http://127.0.0.1:${port}/b`)).toThrow(`no network access in the contract suite: connect 127.0.0.1:${port}`);
      expect(() => net.connect(port, '127.0.0.1')).toThrow(`connect 127.0.0.1:${port}`);
      expect(guard.attempts).toEqual([`fetch http://127.0.0.1:${port}/a`, `connect 127.0.0.1:${port}`, `connect 127.0.0.1:${port}`]);
    } finally {
      guard.restore();
    }
    expect(received).toBe(0);
  });

  it('gives the network back on restore', async () => {
    guardNetwork().restore();
    const response = await fetch(`http://127.0.0.1:${port}/c`, { headers: { connection: 'close' } });
    expect(await response.text()).toBe('ok');
    expect(received).toBe(1);
  });
});
