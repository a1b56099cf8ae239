import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { Logger, StoreBackend } from '@ferry/core';
import type { Database } from './database';
import { MIGRATION_VERSIONS } from './migrations';
import { composeStore } from '@ferry/store-contract';
import { openStore } from './open-store';

describe('openStore', () => {
  let dir: string;
  let store: StoreBackend | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-open-'));
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('names the accepted forms for an unknown scheme, and never echoes the rest of the URL', async () => {
    const error = await openStore('mysql://ferry:s3cret@127.0.0.1/ferry').catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('store URL scheme "mysql:" is not supported: use sqlite:PATH, postgres://… or postgresql://…');
    await expect(openStore('./data/ferry.db')).rejects.toThrow('store URL has no scheme: use sqlite:PATH');
    await expect(openStore('sqlite:')).rejects.toThrow('sqlite store URL needs a file path');
  });

  it('creates the SQLite file and its folders, in WAL mode with every commit synced', async () => {
    const file = join(dir, 'nested', 'data', 'ferry.db');
    store = await openStore(`sqlite:${file}`);
    const other = new BetterSqlite3(file, { readonly: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(other.prepare('select count(*) from ferry_migrations').pluck().get()).toBe(MIGRATION_VERSIONS.length);
    } finally {
      other.close();
    }
    // synchronous is a setting of the store's own connection: 2 is FULL.
    const db = (store as unknown as { db: Kysely<Database> }).db;
    expect((await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows).toEqual([{ synchronous: 2 }]);
    expect((await sql<{ foreignKeys: number }>`pragma foreign_keys`.execute(db)).rows).toEqual([{ foreignKeys: 1 }]);
  });

  it('refuses a file that is not a SQLite database', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'not a database, just some words that fill more than one header of bytes'.repeat(20));
    // better-sqlite3's errors may come from another Jest realm, so match the message, not the class.
    await expect(openStore(`sqlite:${file}`)).rejects.toMatchObject({ message: 'file is not a database' });
  });

  it('logs outcomes it ignores because their lease was lost', async () => {
    const warnings: { fields: object; message: string }[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (fields, message) => warnings.push({ fields, message }),
      error() {},
      child: () => logger,
    };
    store = await openStore(`sqlite:${join(dir, 'ferry.db')}`, { logger });
    await store.queue.ingest(
      {
        id: 'e1',
        source: 'revenuecat',
        type: 'RENEWAL',
        kind: 'renewal',
        userId: 'u',
        productId: null,
        environment: 'PRODUCTION',
        timestampMs: 1,
        body: '{}',
      },
      [{ destinationId: 'ct', state: 'pending' }],
      1,
    );
    const [leased] = await composeStore(store).queue.lease({ destinationId: 'ct', limit: 1, nowMs: 1, leaseMs: 1_000, owner: 'a' });
    await composeStore(store).queue.releaseLeases('a');
    await store.queue.complete([{ deliveryId: leased.id, state: 'delivered' }], 2, 'a');
    expect(warnings).toEqual([
      { fields: { deliveryIds: [leased.id] }, message: 'ignored outcomes for deliveries no longer leased (lease expired or released)' },
    ]);
  });

  it('fails to open an unreachable Postgres without leaking its password', async () => {
    // Nothing listens on port 1.
    const error = await openStore('postgres://ferry:s3cret@127.0.0.1:1/ferry').catch((e: Error) => e);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(JSON.stringify(error) + String(error) + (error as Error).stack).not.toContain('s3cret');
  });
});
