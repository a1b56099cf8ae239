import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { StoreUnavailableError, type StoreBackend } from '@ferry/core';
import { composeStore, pending, T0, testEvent } from '@ferry/store-contract';
import { openStore } from './open-store';
import { SqliteStore } from './sqlite-store';

/** What retention and erasure promise of the files and locks behind the stores, beyond the contract suite. */

const DAY = 86_400_000;
const ERASED = 'erase-me-4f9a1c';

/** A webhook body of about `bytes` naming `userId` as an alias only (so only the body and event_users know it). */
function bodyNaming(id: string, userId: string, bytes = 4_000): string {
  return JSON.stringify({ api_version: '1.0', event: { id, app_user_id: 'anon', aliases: ['anon', userId], padding: 'x'.repeat(bytes) } });
}

describe('sqlite store: space and traces', () => {
  let dir: string;
  let file: string;
  let store: StoreBackend | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-retention-'));
    file = join(dir, 'ferry.db');
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** The file's size once closed (closing checkpoints the WAL into it). */
  async function closedSize(): Promise<number> {
    await store!.close();
    store = undefined;
    return (await stat(file)).size;
  }

  it('stops growing under a steady load with retention: each day’s final events are pruned and their pages given back', async () => {
    const sizes: number[] = [];
    for (let day = 0; day < 6; day += 1) {
      store = await openStore(`sqlite:${file}`);
      const receivedAt = T0 + day * DAY;
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store!.queue.ingest(
            testEvent(`d${day}-${i}`, { body: bodyNaming(`d${day}-${i}`, `user-${i}`) }),
            [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }],
            receivedAt,
          ),
        ),
      );
      // Retention at its minimum, one day: the clock has moved a day past the previous batch.
      await composeStore(store).maintenance.prune({ finalBeforeMs: receivedAt, deadBeforeMs: receivedAt });
      sizes.push(await closedSize());
    }
    // One day's events stay (about 200 × 4 kB); the file holds that, not six days of them.
    expect(Math.max(...sizes.slice(2))).toBeLessThanOrEqual(sizes[1] * 1.1);

    store = await openStore(`sqlite:${file}`);
    await composeStore(store).maintenance.prune({ finalBeforeMs: T0 + 100 * DAY, deadBeforeMs: T0 + 100 * DAY });
    // Everything pruned: the pages went back to the file system, not to a free list inside the file.
    expect(await closedSize()).toBeLessThan(sizes[1] / 4);
  });

  it('turns an older file without incremental auto-vacuum into one with it, once', async () => {
    const old = new BetterSqlite3(file);
    old.exec('create table leftover (x text)');
    expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
    old.close();
    store = await openStore(`sqlite:${file}`);
    await store.close();
    store = undefined;
    const after = new BetterSqlite3(file, { readonly: true });
    try {
      expect(after.pragma('auto_vacuum', { simple: true })).toBe(2);
    } finally {
      after.close();
    }
  });

  it('leaves no byte of an erased user in the database file or its WAL', async () => {
    store = await openStore(`sqlite:${file}`);
    for (let i = 0; i < 20; i += 1) {
      await store.queue.ingest(
        testEvent(`e${i}`, { userId: 'anon', userIds: ['anon', ERASED], body: bodyNaming(`e${i}`, ERASED, 200) }),
        [pending()],
        T0,
      );
    }
    await store.queue.ingest(testEvent('kept', { userId: 'someone-else', body: bodyNaming('kept', 'someone-else', 200) }), [pending()], T0);
    const leased = await composeStore(store).queue.lease({ destinationId: 'ct', limit: 10, nowMs: T0, leaseMs: 60_000, owner: 'r' });
    await store.queue.complete(
      leased.map((d) => ({
        deliveryId: d.id,
        state: 'dead' as const,
        attempt: {
          startedAtMs: T0,
          durationMs: 1,
          status: 400,
          outcome: 'rejected' as const,
          error: `no such user ${d.eventId === 'kept' ? 'someone-else' : ERASED}`,
        },
      })),
      T0,
      'r',
    );
    const files = async () => {
      const parts = await Promise.all([file, `${file}-wal`].filter((path) => existsSync(path)).map((path) => readFile(path)));
      return Buffer.concat(parts);
    };
    expect((await files()).includes(ERASED)).toBe(true);

    expect(await composeStore(store).maintenance.erase(ERASED)).toBe(20);
    expect((await files()).includes(ERASED)).toBe(false);
    expect((await files()).includes('someone-else')).toBe(true);
  });

  /** Events naming ERASED (as an alias, in the body too) and one that does not, all in the WAL. */
  async function ingestErasedAndKept(): Promise<void> {
    for (let i = 0; i < 20; i += 1) {
      await store!.queue.ingest(
        testEvent(`e${i}`, { userId: 'anon', userIds: ['anon', ERASED], body: bodyNaming(`e${i}`, ERASED, 200) }),
        [pending()],
        T0,
      );
    }
    await store!.queue.ingest(
      testEvent('kept', { userId: 'someone-else', body: bodyNaming('kept', 'someone-else', 200) }),
      [pending()],
      T0,
    );
  }

  /** The database file and its WAL, byte for byte. */
  async function bothFiles(): Promise<Buffer> {
    return Buffer.concat(await Promise.all([file, `${file}-wal`].filter((path) => existsSync(path)).map((path) => readFile(path))));
  }

  it('answers an erase only once neither file holds the user, though another connection was reading', async () => {
    store = await openStore(`sqlite:${file}`);
    await ingestErasedAndKept();
    // A second connection in a read transaction (as a backup or the CLI holds one) keeps the WAL from being emptied.
    const reader = new BetterSqlite3(file, { readonly: true });
    try {
      reader.exec('begin');
      reader.prepare('select count(*) from events').get();
      setTimeout(() => reader.exec('commit'), 300);
      expect(await composeStore(store).maintenance.erase(ERASED)).toBe(20);
      expect((await bothFiles()).includes(ERASED)).toBe(false);
      expect((await bothFiles()).includes('someone-else')).toBe(true);
    } finally {
      reader.close();
    }
  });

  it('says the erase did not finish, and why, while a reader never lets go; erasing again once it has finishes', async () => {
    store = new SqliteStore(file, { readerWaitMs: 200 });
    await (store as SqliteStore).migrate();
    await ingestErasedAndKept();
    const reader = new BetterSqlite3(file, { readonly: true });
    try {
      reader.exec('begin');
      reader.prepare('select count(*) from events').get();
      const error = await composeStore(store)
        .maintenance.erase(ERASED)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toBe(
        `the erase removed the events, but for 0.2 s another connection kept reading ${file} (a backup or a CLI command, say), ` +
          `so ${file}-wal may still hold copies of them: erase again once it has finished`,
      );
      expect((error as Error).message).not.toContain(ERASED);
      reader.exec('commit');
    } finally {
      reader.close();
    }
    expect(await composeStore(store).maintenance.erase(ERASED)).toBe(0);
    expect((await bothFiles()).includes(ERASED)).toBe(false);
  });

  it('finds the users of events stored before erasure had its index, from their bodies', async () => {
    store = await openStore(`sqlite:${file}`);
    await store.queue.ingest(testEvent('old', { userId: 'anon', body: bodyNaming('old', ERASED, 10) }), [pending()], T0);
    await store.close();
    store = undefined;
    // As a database from before the event_users migration.
    const raw = new BetterSqlite3(file);
    raw.exec("drop table event_users; delete from ferry_migrations where name like 'event users%'");
    raw.close();
    store = await openStore(`sqlite:${file}`);
    expect(await composeStore(store).maintenance.erase(ERASED)).toBe(1);
  });
});

describe('sqlite store: erasure and retention give way to ingest', () => {
  let dir: string;
  let store: StoreBackend;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-give-way-'));
    store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Starts `work`, lets it run until it first yields, then ingests an event: answers which finished first.
   * Everything here is on one connection, so the order is the store's choice, not chance.
   */
  async function ingestDuring(work: () => Promise<unknown>): Promise<string[]> {
    const finished: string[] = [];
    const working = work().then(() => finished.push('work'));
    await new Promise((resolve) => setImmediate(resolve));
    const ingesting = store.queue.ingest(testEvent('meanwhile'), [pending()], T0).then(() => finished.push('ingest'));
    await Promise.all([working, ingesting]);
    return finished;
  }

  it('commits an event ingested while an erase runs before the erase ends; the erase still removes every event of the user', async () => {
    // 500 of the user's events among as many of another's: one batch of the old size.
    await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => {
        const userId = i % 2 === 0 ? ERASED : 'someone-else';
        return store.queue.ingest(testEvent(`e${i}`, { userId, body: bodyNaming(`e${i}`, userId, 200) }), [pending()], T0);
      }),
    );
    expect(await ingestDuring(() => composeStore(store).maintenance.erase(ERASED))).toEqual(['ingest', 'work']);
    expect(await composeStore(store).maintenance.erase(ERASED)).toBe(0);
    expect((await store.log.stats(T0)).events).toBe(501);
    expect(await store.log.getEvent('meanwhile')).toBeDefined();
  });

  it('commits an event ingested while retention runs before its round ends; the round still removes every old event', async () => {
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        store.queue.ingest(testEvent(`old${i}`), [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }], T0),
      ),
    );
    const cutoffs = { finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY };
    expect(await ingestDuring(() => composeStore(store).maintenance.prune(cutoffs))).toEqual(['ingest', 'work']);
    expect((await store.log.listEvents({ limit: 10 })).map((event) => event.id)).toEqual(['meanwhile']);
  });
});

const databaseUrl = process.env.DATABASE_URL;
const describeIfPostgres = databaseUrl ? describe : describe.skip;

describeIfPostgres('postgres store: one pruner at a time', () => {
  let admin: pg.Client;
  let schema: string;
  let stores: StoreBackend[];

  beforeEach(async () => {
    admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    schema = `ferry_test_${randomBytes(6).toString('hex')}`;
    await admin.query(`create schema ${schema}`);
    const url = new URL(databaseUrl!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    stores = [await openStore(url.toString())];
  });

  afterEach(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  });

  it('stands aside while another runner holds the pruning lock, and prunes once it is free', async () => {
    const [store] = stores;
    await store.queue.ingest(testEvent('old'), [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }], T0);
    const cutoffs = { finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY };
    // Another runner pruning holds the same advisory lock.
    await admin.query('begin');
    await admin.query(`select pg_advisory_xact_lock(${0x70727565})`);
    expect(await composeStore(store).maintenance.prune(cutoffs)).toEqual({ removed: 0, busy: true });
    await admin.query('commit');
    expect(await composeStore(store).maintenance.prune(cutoffs)).toEqual({ removed: 1, busy: false });
  });
});
