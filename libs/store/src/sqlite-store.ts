import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import {
  CamelCasePlugin,
  CompiledQuery,
  Kysely,
  sql,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type Transaction,
  type RawBuilder,
} from 'kysely';
import type { Database } from './database';
import { SqlStore, type StoreOptions } from './sql-store';

/** better-sqlite3 waits for a busy database synchronously, blocking the event loop: keep that wait short … */
const BUSY_TIMEOUT_MS = 20;
/** … and wait for the write lock asynchronously instead, up to this long. */
const WRITE_LOCK_TIMEOUT_MS = 30_000;
const WRITE_LOCK_RETRY_MS = 5;

/** SQLite's `auto_vacuum` value for INCREMENTAL. */
const INCREMENTAL_AUTO_VACUUM = 2;

/**
 * The embedded store: one SQLite file in WAL mode. Every commit is fsynced (`synchronous = FULL`), so
 * an event acknowledged after `ingest` resolves survives a power cut; group commit keeps that fast.
 * SQLite has one writer, so leasing needs no row locks.
 *
 * Space: the file is in incremental auto-vacuum mode and every prune or erase gives its free pages back,
 * so under a steady load with retention the file stops growing. Deleted content is overwritten
 * (`secure_delete`), and an erase checkpoints the WAL, so no copy of an erased user stays in either file.
 */
export class SqliteStore extends SqlStore {
  private readonly database: BetterSqlite3.Database;

  constructor(path: string, options: StoreOptions = {}) {
    if (path === '') throw new Error('sqlite store URL needs a file path, e.g. sqlite:./data/ferry.db');
    mkdirSync(dirname(resolve(path)), { recursive: true });
    const database = new BetterSqlite3(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      // Before the first table exists it takes effect at once; an older file needs the VACUUM in `migrate`.
      database.pragma('auto_vacuum = INCREMENTAL');
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = FULL');
      database.pragma('foreign_keys = ON');
      database.pragma('secure_delete = ON');
    } catch (error) {
      database.close(); // not a database file, say
      throw error;
    }
    super(new Kysely<Database>({ dialect: new WriteLockingSqliteDialect(database), plugins: [new CamelCasePlugin()] }), 'sqlite', options);
    this.database = database;
  }

  /**
   * After the migrations, a file made before incremental auto-vacuum is rebuilt once with VACUUM (which
   * cannot run in a transaction): it takes a while on a large file and briefly needs its size again in
   * free disk. If it cannot run now (another connection reading), the next start tries again.
   */
  override async migrate(): Promise<void> {
    await super.migrate();
    if (this.database.pragma('auto_vacuum', { simple: true }) === INCREMENTAL_AUTO_VACUUM) return;
    try {
      this.logger.warn({}, 'rebuilding the SQLite file once (VACUUM) so that retention can give space back');
      this.database.pragma('auto_vacuum = INCREMENTAL');
      this.database.exec('vacuum');
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'could not rebuild the SQLite file now; the next start tries again');
    }
  }

  protected readonly bodyBytes = 'length(cast(body as blob))';

  protected leaseClock(nowMs: number): RawBuilder<number> {
    return sql<number>`${nowMs}`;
  }

  protected async tryLockPruning(): Promise<boolean> {
    return true; // one writer: the transaction already holds the only write lock
  }

  /**
   * On the one connection, so inside the caller's transaction. `exec`, not a prepared statement: each step
   * of `incremental_vacuum` frees a single page, and only `exec` steps it to the end.
   */
  protected async reclaimSpace(): Promise<void> {
    this.database.exec('pragma incremental_vacuum');
  }

  protected async afterErase(): Promise<void> {
    // TRUNCATE empties the WAL file, which held the erased pages as they were before; a busy reader leaves it for later.
    const [result] = this.database.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result?.busy) this.logger.warn({}, 'an erase could not checkpoint the WAL yet: a reader holds it; the next checkpoint does');
  }

  protected async lockForMigration(): Promise<void> {
    // BEGIN IMMEDIATE already holds the database's only write lock.
  }

  /** One writer, one counter row per destination and state: nothing to fold. */
  protected async foldCounts(): Promise<void> {}

  /** Counts on from the highest number given: the caller holds the database's only write lock. */
  protected async nextReceivedSeqs(trx: Transaction<Database>, count: number): Promise<number[]> {
    const row = await trx
      .selectFrom('events')
      .select((eb) => eb.fn.max('receivedSeq').as('last'))
      .executeTakeFirst();
    const last = row?.last ?? 0;
    return Array.from({ length: count }, (_, i) => last + 1 + i);
  }

  /** A constraint broken, a value too big, or one of the wrong type. */
  protected refusedValues(error: unknown): boolean {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH)/.test(code);
  }
}

/**
 * Transactions start with BEGIN IMMEDIATE, so they hold the write lock from their first statement: a
 * deferred transaction that reads first could not upgrade to writing once another connection (the CLI
 * beside a runner) has written. While another connection holds the lock, we retry without blocking.
 */
class WriteLockingSqliteDialect extends SqliteDialect {
  constructor(private readonly database: BetterSqlite3.Database) {
    super({ database });
  }

  override createDriver(): Driver {
    return new ImmediateTransactionDriver({ database: this.database });
  }
}

class ImmediateTransactionDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const deadline = Date.now() + WRITE_LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
        await sleep(WRITE_LOCK_RETRY_MS);
      }
    }
  }
}
