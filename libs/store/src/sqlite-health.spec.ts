import { chmod, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreUnavailableError, type Logger, type StoreBackend } from '@ferry/core';
import { composeStore, pending, T0, testEvent } from '@ferry/store-contract';
import { openStore } from './open-store';

/** What the SQLite store does about its own files: who may read them, and what happens when they go or fill up. */

interface Logged {
  readonly level: 'warn' | 'error';
  readonly fields: object;
  readonly message: string;
}

function recordingLogger(into: Logged[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (fields, message) => into.push({ level: 'warn', fields, message }),
    error: (fields, message) => into.push({ level: 'error', fields, message }),
    child: () => logger,
  };
  return logger;
}

/** No room for one more page: free pages given back, then the file may not grow (SQLite answers SQLITE_FULL). */
function fillDisk(database: BetterSqlite3.Database): void {
  database.exec('pragma incremental_vacuum');
  database.pragma(`max_page_count = ${database.pragma('page_count', { simple: true }) as number}`);
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('sqlite store: its files', () => {
  let dir: string;
  let file: string;
  let store: StoreBackend | undefined;
  let logged: Logged[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-health-'));
    file = join(dir, 'ferry.db');
    logged = [];
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** The store's own connection, to make its disk fill up for real (SQLite's page limit answers SQLITE_FULL). */
  const connection = () => (store as unknown as { database: BetterSqlite3.Database }).database;

  it('creates its folders for the owner alone, and the file, its WAL and shared memory readable by the owner alone', async () => {
    const nested = join(dir, 'data', 'ferry');
    store = await openStore(`sqlite:${join(nested, 'ferry.db')}`);
    await store.queue.ingest(testEvent('e1'), [pending()], T0);
    expect(await modeOf(join(dir, 'data'))).toBe(0o700);
    expect(await modeOf(nested)).toBe(0o700);
    for (const name of ['ferry.db', 'ferry.db-wal', 'ferry.db-shm'])
      expect([name, await modeOf(join(nested, name))]).toEqual([name, 0o600]);
  });

  it('makes files an older version left readable by others owner-only, and says so; leaves an existing folder as it is', async () => {
    store = await openStore(`sqlite:${file}`);
    await store.close();
    await chmod(file, 0o644);
    await chmod(dir, 0o755);
    store = await openStore(`sqlite:${file}`, { logger: recordingLogger(logged) });
    expect(await modeOf(file)).toBe(0o600);
    expect(await modeOf(dir)).toBe(0o755);
    expect(logged).toContainEqual({ level: 'warn', fields: {}, message: `made ${file} readable by its owner only (it was 644)` });
  });

  /** The store's WAL file handle, which each ingest syncs (opened at the first ingest). */
  const walHandle = () => (store as unknown as { wal: { datasync(): Promise<void> } }).wal;

  it("answers an ingest only once its WAL is flushed, SQLite's own fsync back on for every other commit", async () => {
    store = await openStore(`sqlite:${file}`);
    const FULL = 2;
    expect(await store.queue.ingest(testEvent('e1'), [pending()], T0)).toBe('stored');
    expect(connection().pragma('synchronous', { simple: true })).toBe(FULL);

    let flush!: () => void;
    let syncs = 0;
    walHandle().datasync = () => {
      syncs += 1;
      return new Promise<void>((resolve) => (flush = resolve));
    };
    let answered = false;
    const ingest = store.queue.ingest(testEvent('e2'), [pending()], T0).then((result) => ((answered = true), result));
    while (syncs === 0) await new Promise((resolve) => setImmediate(resolve));
    // Committed (a reader sees it), not yet answered: the flush is still running.
    expect(connection().prepare('select count(*) from events where id = ?').pluck().get('e2')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    flush();
    expect(await ingest).toBe('stored');
    expect(connection().pragma('synchronous', { simple: true })).toBe(FULL);
  });

  it('refuses every later ingest and readiness check once the WAL could not be flushed, and logs it once', async () => {
    store = await openStore(`sqlite:${file}`, { logger: recordingLogger(logged) });
    expect(await store.queue.ingest(testEvent('before'), [pending()], T0)).toBe('stored');
    walHandle().datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const message =
      `the disk could not flush ${file}-wal (EIO: i/o error, fdatasync): new events are refused, since what the file holds ` +
      'is no longer known; restart once the disk is sound (events acknowledged before are kept)';
    for (const id of ['during', 'after']) {
      const error = await store.queue.ingest(testEvent(id), [pending()], T0).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toBe(message);
    }
    await expect(store.ping()).rejects.toThrow(message);
    expect(logged.filter((line) => line.level === 'error')).toEqual([{ level: 'error', fields: { file }, message }]);
  });

  it('never changes a file that is not a database', async () => {
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'not a database, just some words that fill more than one header of bytes'.repeat(20));
    await chmod(notes, 0o644);
    await expect(openStore(`sqlite:${notes}`)).rejects.toMatchObject({ message: 'file is not a database' });
    expect(await modeOf(notes)).toBe(0o644);
  });

  it.each(['deleted', 'replaced'] as const)(
    'refuses every ingest and readiness check once its file was %s, and logs it once',
    async (change) => {
      store = await openStore(`sqlite:${file}`, { logger: recordingLogger(logged) });
      expect(await store.queue.ingest(testEvent('before'), [pending()], T0)).toBe('stored');
      if (change === 'deleted') await rm(file);
      else {
        await writeFile(join(dir, 'other.db'), '');
        await rename(join(dir, 'other.db'), file);
      }
      const message =
        `the SQLite file ${file} was ${change} while in use: new events are refused, since a restart would not find them ` +
        `(what was accepted before is still delivered); see README, "The store's own safety"`;
      for (let i = 0; i < 2; i += 1) {
        const error = await store.queue.ingest(testEvent(`after-${i}`), [pending()], T0).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect((error as Error).message).toBe(message);
        await expect(store.ping()).rejects.toThrow(message);
      }
      expect(logged.filter((line) => line.level === 'error')).toEqual([{ level: 'error', fields: { file }, message }]);
      // What it accepted before is still there to deliver.
      expect(
        await composeStore(store).queue.lease({ destinationId: 'ct', limit: 10, nowMs: T0, leaseMs: 60_000, owner: 'r' }),
      ).toHaveLength(1);
    },
  );

  it('fails readiness while its disk is full and a small commit still fails, and is ready again once there is room', async () => {
    store = await openStore(`sqlite:${file}`);
    await store.ping();
    const database = connection();
    fillDisk(database);
    // A body of several pages needs new ones: the full disk answers.
    const big = testEvent('big', { body: JSON.stringify({ padding: 'x'.repeat(40_000) }) });
    const error = await store.queue.ingest(big, [pending()], T0).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SQLITE_FULL', message: 'database or disk is full' });
    const unready = await store.ping().catch((e: unknown) => e);
    expect(unready).toBeInstanceOf(StoreUnavailableError);
    expect((unready as Error).message).toBe('the store cannot commit (database or disk is full): new events are refused until it can');
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);

    database.pragma('max_page_count = 1073741823');
    await store.ping();
    expect(await store.queue.ingest(big, [pending()], T0)).toBe('stored');
  });

  it('reports the disk error of a write SQLite rolled back itself, not the failed rollback after it', async () => {
    store = await openStore(`sqlite:${file}`);
    const database = connection();
    fillDisk(database);
    const pause = { destinationId: 'ct', cause: 'operator' as const, reason: 'r'.repeat(40_000), sinceMs: T0, setBy: 'test' };
    await expect(store.coordination.pauseDestination(pause)).rejects.toMatchObject({
      code: 'SQLITE_FULL',
      message: 'database or disk is full',
    });
  });
});
