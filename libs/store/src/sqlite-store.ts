import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
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
  type RawBuilder,
  type SqliteDatabase,
} from 'kysely';
import { StoreUnavailableError } from '@ferry/core';
import type { Database } from './database';
import { createStoreFile, OpenedFile, tightenStoreFiles } from './sqlite-files';
import type { IngestRow } from './sql/context';
import {
  columnName,
  columnNames,
  eventUserValues,
  eventValues,
  INGEST_COLUMNS,
  newDeliveryValues,
  type IngestTable,
} from './sql/ingest-rows';
import { SqlStore, type StoreOptions } from './sql-store';

/** better-sqlite3 waits for a busy database synchronously, blocking the event loop: keep that wait short … */
const BUSY_TIMEOUT_MS = 20;
/** … and wait for the write lock asynchronously instead, up to this long. */
const WRITE_LOCK_TIMEOUT_MS = 30_000;
const WRITE_LOCK_RETRY_MS = 5;
/** Compiled statements kept for reuse; beyond this many distinct texts the cache starts over. */
const MAX_STATEMENTS = 500;

/** SQLite's `auto_vacuum` value for INCREMENTAL. */
const INCREMENTAL_AUTO_VACUUM = 2;
/** How long an erase waits, by default, for other connections reading the file to let it empty the WAL. */
const DEFAULT_READER_WAIT_MS = 30_000;
const CHECKPOINT_RETRY_MS = 50;

export interface SqliteStoreOptions extends StoreOptions {
  /** How long an erase waits for other connections reading the file (a backup, the CLI) to let it empty the WAL. */
  readonly readerWaitMs?: number;
}

/**
 * The embedded store: one SQLite file in WAL mode. Every commit is on disk before it counts: an event
 * acknowledged after `ingest` resolves survives a power cut (its group commit's WAL is flushed off the event
 * loop, see `insertIngests`), and every other write is fsynced by SQLite itself (`synchronous = FULL`). SQLite
 * has one writer, so leasing needs no row locks.
 *
 * Space: the file is in incremental auto-vacuum mode and every prune or erase gives its free pages back,
 * so under a steady load with retention the file stops growing. Deleted content is overwritten
 * (`secure_delete`), and an erase empties the WAL before it answers, so no copy of an erased user stays in
 * either file.
 *
 * Health: the files are their owner's alone (0600; a folder Ferry creates for them 0700). Each group commit
 * and readiness check makes sure the path still names the file opened; once it does not (deleted, replaced)
 * every later ingest and check fails, since a restart would find none of what is written from then on.
 */
export class SqliteStore extends SqlStore {
  private readonly database: BetterSqlite3.Database;
  /** The database file's absolute path. */
  private readonly filePath: string;
  private readonly readerWaitMs: number;
  private readonly opened: OpenedFile;
  /** Set once the file opened is no longer at its path, or its WAL could not be flushed: every ingest and readiness check fails with it. */
  private unusable: StoreUnavailableError | undefined;
  /** Compiled at the first ingest: the tables exist only once `migrate` ran. */
  private ingestStatements: IngestStatements | undefined;
  /** The WAL file, opened at the first ingest (it exists once `migrate` has written), which each ingest syncs. */
  private wal: FileHandle | undefined;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    if (path === '') throw new Error('sqlite store URL needs a file path, e.g. sqlite:./data/ferry.db');
    const file = resolve(path);
    createStoreFile(file);
    const database = new BetterSqlite3(file, { timeout: BUSY_TIMEOUT_MS });
    let tightened: string[];
    try {
      // Before the first table exists it takes effect at once; an older file needs the VACUUM in `migrate`.
      database.pragma('auto_vacuum = INCREMENTAL');
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = FULL');
      database.pragma('foreign_keys = ON');
      database.pragma('secure_delete = ON');
      database.pragma('temp_store = MEMORY');
      // Fewer, larger checkpoints: a page written by many commits (an index's last page) is copied to the file once.
      database.pragma('wal_autocheckpoint = 10000');
      database.pragma('journal_size_limit = 67108864');
      tightened = tightenStoreFiles(file);
    } catch (error) {
      database.close(); // not a database file, say
      throw error;
    }
    super(new Kysely<Database>({ dialect: new WriteLockingSqliteDialect(database), plugins: [new CamelCasePlugin()] }), 'sqlite', options);
    this.database = database;
    this.filePath = file;
    this.readerWaitMs = options.readerWaitMs ?? DEFAULT_READER_WAIT_MS;
    this.opened = new OpenedFile(file);
    for (const note of tightened) this.logger.warn({}, note);
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

  protected readonly bodyBytes = 'length(cast(events.body as blob))';

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

  /**
   * TRUNCATE copies every page the erase rewrote into the database file, over the old ones, and empties the WAL,
   * which held copies of the pages as they were. It completes only once no other connection reads an older
   * snapshot (a backup, the CLI): tried again until then, within `readerWaitMs`, sleeping in between rather
   * than in SQLite's busy handler, which would block the event loop. On Kysely's connection, so never inside
   * one of this store's transactions.
   */
  protected async afterErase(): Promise<void> {
    const deadline = Date.now() + this.readerWaitMs;
    for (;;) {
      const [result] = await this.db.connection().execute(async () => {
        this.database.pragma('busy_timeout = 0');
        try {
          return this.database.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        } finally {
          this.database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
        }
      });
      if (!result?.busy) return;
      if (Date.now() >= deadline) {
        throw new StoreUnavailableError(
          `the erase removed the events, but for ${this.readerWaitMs / 1000} s another connection kept reading ${this.filePath} ` +
            `(a backup or a CLI command, say), so ${this.filePath}-wal may still hold copies of them: erase again once it has finished`,
        );
      }
      await sleep(CHECKPOINT_RETRY_MS);
    }
  }

  /**
   * A batch holds the only connection, so webhooks go first: those that arrived during it are committed before
   * anything else; then its pages are checkpointed, and those that arrived meanwhile committed too. PASSIVE
   * copies what it can without waiting for anyone, a batch's pages (a few hundred) in a few milliseconds; left
   * to the automatic checkpoint, they would pile up to its 10,000 pages, copied in one go inside whichever
   * commit crosses that mark. While another connection reads, pages it may need wait.
   */
  protected async afterBatch(wrote: boolean): Promise<void> {
    await this.giveWayToIngest();
    if (!wrote) return;
    await this.db.connection().execute(async () => this.database.pragma('wal_checkpoint(PASSIVE)'));
    await this.giveWayToIngest();
  }

  override async ping(): Promise<void> {
    this.checkFile();
    await super.ping();
  }

  /** Fails, now and at every later call, once the path no longer names the file the store opened. */
  private checkFile(): void {
    if (this.unusable) throw this.unusable;
    const change = this.opened.change();
    if (change === undefined) return;
    this.unusable = new StoreUnavailableError(
      `the SQLite file ${this.filePath} was ${change} while in use: new events are refused, since a restart would not find them ` +
        `(what was accepted before is still delivered); see README, "The store's own safety"`,
    );
    this.logger.error({ file: this.filePath }, this.unusable.message);
    throw this.unusable;
  }

  protected async lockForMigration(): Promise<void> {
    // BEGIN IMMEDIATE already holds the database's only write lock.
  }

  /** One writer, one counter row per destination and state: nothing to fold. */
  protected async foldCounts(): Promise<void> {}

  /**
   * One statement per row, each compiled once and run straight on better-sqlite3, all in one synchronous
   * transaction: SQLite inserts a row in microseconds, and building a multi-row statement costs more than that.
   * Kysely's connection is held throughout, so no other query runs inside this transaction.
   *
   * Durable before it answers, but without blocking the event loop on the disk: the commit is appended to the WAL
   * without SQLite's own fsync (`synchronous = NORMAL` for this transaction), then the WAL file is fdatasync'ed
   * on libuv's thread pool (under a millisecond on an idle disk here, tens at times on a busy one) while the loop
   * goes on reading webhooks and running the other writes. Only then are the group's webhooks answered: what `synchronous = FULL` promised.
   */
  protected async insertIngests(rows: readonly IngestRow[]): Promise<ReadonlySet<string>> {
    this.checkFile();
    this.wal ??= await open(`${this.filePath}-wal`, 'r');
    const inserted = await this.db.connection().execute(async () => {
      this.database.pragma('synchronous = NORMAL');
      try {
        await withWriteLock(() => this.database.exec('begin immediate'));
        this.ingestStatements ??= new IngestStatements(this.database);
        const stored = this.ingestStatements.insert(rows);
        this.database.exec('commit');
        return stored;
      } catch (error) {
        if (this.database.inTransaction) this.database.exec('rollback');
        throw error;
      } finally {
        this.database.pragma('synchronous = FULL');
      }
    });
    try {
      await this.wal.datasync();
    } catch (error) {
      // The kernel may have dropped the pages it could not write while SQLite counts them committed: nothing the
      // file holds is certain any more, so nothing more is acknowledged from it (as Postgres stops on a failed fsync).
      this.unusable = new StoreUnavailableError(
        `the disk could not flush ${this.filePath}-wal (${(error as Error).message}): new events are refused, since what the ` +
          'file holds is no longer known; restart once the disk is sound (events acknowledged before are kept)',
      );
      this.logger.error({ file: this.filePath }, this.unusable.message);
      throw this.unusable;
    }
    return inserted;
  }

  override async close(): Promise<void> {
    await super.close();
    const wal = this.wal;
    this.wal = undefined;
    await wal?.close();
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
  private readonly prepared: SqliteDatabase;

  constructor(private readonly database: BetterSqlite3.Database) {
    const prepared = preparingOnce(database);
    super({ database: prepared });
    this.prepared = prepared;
  }

  override createDriver(): Driver {
    return new ImmediateTransactionDriver(this.prepared, this.database);
  }
}

class ImmediateTransactionDriver extends SqliteDriver {
  constructor(
    prepared: SqliteDatabase,
    private readonly database: BetterSqlite3.Database,
  ) {
    super({ database: prepared });
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await withWriteLock(() => connection.executeQuery(CompiledQuery.raw('begin immediate')));
  }

  /**
   * SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR): a ROLLBACK then fails
   * with "cannot rollback - no transaction is active", which would hide the error that says what happened.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.database.inTransaction) await super.rollbackTransaction(connection);
  }
}

/** Runs `begin` (a BEGIN IMMEDIATE) until it gets the write lock, sleeping between tries while another connection holds it. */
async function withWriteLock(begin: () => unknown): Promise<void> {
  const deadline = Date.now() + WRITE_LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      await begin();
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      await sleep(WRITE_LOCK_RETRY_MS);
    }
  }
}

/** better-sqlite3 compiles a statement at each `prepare`, and Kysely prepares every query it runs: the compiled ones are kept. */
function preparingOnce(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(text) {
      let statement = statements.get(text);
      if (!statement) {
        if (statements.size >= MAX_STATEMENTS) statements.clear();
        statement = database.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

/** The statements of `insertIngests`, compiled once. */
class IngestStatements {
  private readonly lastSeq: BetterSqlite3.Statement<[], number | null>;
  private readonly event: BetterSqlite3.Statement;
  private readonly delivery: BetterSqlite3.Statement;
  private readonly user: BetterSqlite3.Statement;
  private readonly countEvents: BetterSqlite3.Statement<[number]>;
  private readonly countDeliveries: BetterSqlite3.Statement<[string, string, number]>;

  constructor(database: BetterSqlite3.Database) {
    this.lastSeq = database.prepare<[], number | null>('select max(received_seq) from events').pluck();
    this.event = database.prepare(`${insertOne('events', ['receivedSeq'])} on conflict (id) do nothing`);
    this.delivery = database.prepare(insertOne('deliveries'));
    this.user = database.prepare(insertOne('eventUsers'));
    // The counts the row triggers keep for updates and deletes (migration 6), added once per group (migration 15).
    this.countEvents = database.prepare<[number]>('update event_counts set count = count + ? where slot = 0');
    this.countDeliveries = database.prepare<[string, string, number]>(
      `insert into delivery_counts (destination_id, state, slot, count) values (?, ?, 0, ?)
        on conflict (destination_id, state, slot) do update set count = count + excluded.count`,
    );
  }

  /** Inside the caller's transaction, which holds the only write lock: `received_seq` counts on from the highest. */
  insert(rows: readonly IngestRow[]): Set<string> {
    const firstSeq = (this.lastSeq.get() ?? 0) + 1;
    const inserted = new Set<string>();
    /** Deliveries inserted, by destination, then state. */
    const planned = new Map<string, Map<string, number>>();
    for (const { event, deliveries, nowMs, arrival } of rows) {
      if (this.event.run({ ...eventValues(event, nowMs), receivedSeq: firstSeq + arrival }).changes === 0) continue;
      inserted.add(event.id);
      for (const delivery of deliveries) {
        this.delivery.run(newDeliveryValues(event.id, delivery, nowMs));
        const states = planned.get(delivery.destinationId) ?? planned.set(delivery.destinationId, new Map()).get(delivery.destinationId)!;
        states.set(delivery.state, (states.get(delivery.state) ?? 0) + 1);
      }
      for (const user of eventUserValues(event)) this.user.run(user);
    }
    if (inserted.size > 0) this.countEvents.run(inserted.size);
    for (const [destinationId, states] of planned) {
      for (const [state, count] of states) this.countDeliveries.run(destinationId, state, count);
    }
    return inserted;
  }
}

/** One row's INSERT into `table`, its values named after the fields of the row (see `INGEST_COLUMNS`). */
function insertOne(table: IngestTable, extra: readonly string[] = []): string {
  const fields = [...Object.keys(INGEST_COLUMNS[table]), ...extra];
  return `insert into ${columnName(table)} (${columnNames(table, extra).join(', ')}) values (${fields.map((field) => `@${field}`).join(', ')})`;
}
