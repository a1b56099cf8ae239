import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { closeHttp, send, tempDir, testConfig, waitFor, type TempDir } from './testing/harness';
import { postgresFor } from './testing/postgres';
import { Child, MAIN, postWebhookTo, probeWebhook } from './testing/processes';

const databaseUrl = postgresFor('network partition test');

/** A TCP proxy to Postgres that, while blackholed, forwards nothing, not even a connection's end. */
class BlackholeProxy {
  blackholed = false;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(target: URL): Promise<BlackholeProxy> {
    const server = createServer();
    const proxy = new BlackholeProxy(server);
    server.on('connection', (client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ]) {
        proxy.sockets.add(from);
        from.on('data', (chunk) => void (proxy.blackholed || to.write(chunk)));
        from.on('end', () => void (proxy.blackholed || to.end()));
        from.on('error', () => to.destroy());
        from.on('close', () => proxy.sockets.delete(from));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

(databaseUrl ? describe : describe.skip)(
  databaseUrl ? 'a network partition between the runner and Postgres' : 'a network partition (SKIPPED: DATABASE_URL is not set)',
  () => {
    const schema = `partition_${randomUUID().replace(/-/g, '')}`;
    let db: pg.Client;
    let dir: TempDir;
    let proxy: BlackholeProxy;
    let child: Child | undefined;

    beforeAll(async () => {
      db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      await db.query(`create schema ${schema}`);
      dir = await tempDir();
      proxy = await BlackholeProxy.start(new URL(databaseUrl as string));
    });
    afterAll(async () => {
      if (child?.alive) child.kill('SIGKILL');
      await child?.exited;
      await proxy?.close();
      await closeHttp();
      await dir?.remove();
      await db?.query(`drop schema if exists ${schema} cascade`);
      await db?.end();
    });

    it('fails ingest and readiness with 503 instead of hanging, recovers when it heals, and SIGTERM still ends the runner', async () => {
      const url = new URL(databaseUrl as string);
      url.host = `127.0.0.1:${proxy.port}`;
      url.searchParams.set('options', `-c search_path=${schema}`);
      const file = path.join(dir.path, 'ferry.config.json');
      // Short bounds, so the test waits seconds; nothing below compares a duration.
      const store = { url: url.toString(), queryTimeoutMs: 1_000, connectTimeoutMs: 1_000 };
      await writeFile(file, JSON.stringify(testConfig(dir.path, { store, log: { level: 'info' } })));
      child = new Child(MAIN, ['--config', file], dir.path);
      const runner = await child.url();
      expect((await postWebhookTo(runner, probeWebhook('before'))).status).toBe(200);

      proxy.blackholed = true;
      expect((await postWebhookTo(runner, probeWebhook('during'))).status).toBe(503);
      expect((await send('GET', `${runner}/readyz`)).status).toBe(503);

      proxy.blackholed = false;
      await waitFor('ingest to recover', async () => (await postWebhookTo(runner, probeWebhook('after'))).status === 200);
      expect((await send('GET', `${runner}/readyz`)).status).toBe(200);
      const { rows } = await db.query(`select id from ${schema}.events order by id`);
      expect(rows.map((row) => row.id)).toEqual(['after', 'before']);

      // A partition during shutdown: the store's goodbye is never answered, yet the process ends.
      proxy.blackholed = true;
      expect((await postWebhookTo(runner, probeWebhook('stuck'))).status).toBe(503);
      child.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: 0, signal: null });
    });
  },
);
