import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { silentLogger, type Logger, type StoreBackend } from '@ferry/core';
import type { Database } from './database';
import { runMigrations, type Dialect } from './migrations';
import { SqlActivityLog } from './sql/activity';
import { codePointOrder, type IngestRow, type SqlContext, type SqlDialect } from './sql/context';
import { SqlCoordination } from './sql/coordination';
import { SqlErasureJobs } from './sql/erasure-jobs';
import { SqlEventLog } from './sql/event-log';
import { SqlMaintenance } from './sql/maintenance';
import { SqlQueue } from './sql/queue';

export interface StoreOptions {
  readonly logger?: Logger;
}

/** Write transactions between two folds of the delivery counters, when no `stats` call folds them first. */
const FOLD_EVERY = 1_000;

/**
 * The store's backend on any SQL database Kysely speaks (the engine's `composeStore` adds its policies):
 * the ports' parts in sql/queue.ts, lease-steps.ts, event-log.ts, maintenance.ts, coordination.ts, erasure-jobs.ts and activity.ts, which
 * share the connection, and the lifecycle. Subclasses supply the connection and what differs between SQLite
 * and Postgres (`SqlDialect`).
 */
export abstract class SqlStore implements StoreBackend {
  readonly queue: SqlQueue;
  readonly log: SqlEventLog;
  readonly maintenance: SqlMaintenance;
  readonly coordination: SqlCoordination;
  readonly erasures: SqlErasureJobs;
  readonly activity: SqlActivityLog;
  private closed = false;
  private writesSinceFold = 0;
  private folding: Promise<void> | undefined;
  protected readonly logger: Logger;

  protected constructor(
    protected readonly db: Kysely<Database>,
    private readonly dialectName: Dialect,
    options: StoreOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    // Read when used: the subclass sets its fields once this constructor has returned.
    const bodyBytes = () => this.bodyBytes;
    const dialect: SqlDialect = {
      rowLocks: dialectName === 'postgres',
      codePointText: codePointOrder(dialectName),
      get bodyBytes() {
        return bodyBytes();
      },
      leaseClock: (nowMs) => this.leaseClock(nowMs),
      refusedValues: (error) => this.refusedValues(error),
      insertIngests: (rows) => this.insertIngests(rows),
      tryLockPruning: (trx) => this.tryLockPruning(trx),
      reclaimSpace: (trx) => this.reclaimSpace(trx),
      afterErase: () => this.afterErase(),
      afterBatch: (wrote) => this.afterBatch(wrote),
    };
    const context: SqlContext = {
      db,
      logger: this.logger,
      dialect,
      write: (work) => this.write(work),
      foldCounts: () => this.foldCountsNow(),
    };
    this.queue = new SqlQueue(context, () => this.reachable());
    this.log = new SqlEventLog(context);
    this.maintenance = new SqlMaintenance(context);
    this.coordination = new SqlCoordination(context);
    this.erasures = new SqlErasureJobs(context);
    this.activity = new SqlActivityLog(context);
  }

  /** Serialises concurrent migrators; runs first in the migration transaction. */
  protected abstract lockForMigration(trx: Transaction<Database>): Promise<void>;
  /** See `SqlDialect`. */
  protected abstract leaseClock(nowMs: number): RawBuilder<number>;
  protected abstract readonly bodyBytes: string;
  protected abstract refusedValues(error: unknown): boolean;
  protected abstract insertIngests(rows: readonly IngestRow[]): Promise<ReadonlySet<string>>;
  protected abstract tryLockPruning(trx: Transaction<Database>): Promise<boolean>;
  protected abstract reclaimSpace(trx: Transaction<Database>): Promise<void>;
  protected abstract afterErase(): Promise<void>;
  protected abstract afterBatch(wrote: boolean): Promise<void>;
  /** Merges the counter rows of connections that ended into slot 0 (Postgres); nothing to do on SQLite. */
  protected abstract foldCounts(): Promise<void>;

  migrate(): Promise<void> {
    return runMigrations(this.db, this.dialectName, (trx) => this.lockForMigration(trx), Date.now());
  }

  /**
   * Merges counter rows the database no longer adds to (see `foldCounts`). Runs at each `stats` and every
   * FOLD_EVERY writes, so the rows stay few even when nobody reads them; a failure only postpones it.
   */
  private async foldCountsNow(): Promise<void> {
    this.writesSinceFold = 0;
    this.folding ??= this.foldCounts()
      .catch((error: unknown) => this.logger.warn({ error: (error as Error).message }, 'could not fold delivery counters; will try again'))
      .finally(() => (this.folding = undefined));
    await this.folding;
  }

  /** Lets the event loop read the webhooks that have arrived, then waits for their group commit. */
  protected async giveWayToIngest(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    await this.queue.ingestsFlushed();
  }

  /**
   * Reachable, and able to commit: while ingest commits fail (a full disk), a small write shows whether one
   * would succeed now, so readiness follows what a webhook would get.
   */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
    await this.queue.checkCommits((work) => this.write(work));
  }

  /** Every write runs in a transaction (see `SqlContext.write`); now and then it folds the counters. */
  protected async write<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    const result = await this.db.transaction().execute(work);
    if (++this.writesSinceFold >= FOLD_EVERY && !this.closed) void this.foldCountsNow();
    return result;
  }

  private reachable(): Promise<boolean> {
    return this.ping().then(
      () => true,
      () => false,
    );
  }

  /** Waits for ingests already submitted to commit, then closes the connections. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.closeIngests();
    await this.folding;
    await this.db.destroy();
  }
}
