import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { DeliveryState, IngestEvent, Logger, NewDelivery } from '@ferry/core';
import type { Database } from '../database';
import type { Dialect } from '../migrations';

/**
 * What each port of the SQL store works with: the connection, its transactions, and what differs between
 * SQLite and Postgres. `SqlStore` makes one and hands it to every port.
 */
export interface SqlContext {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  readonly dialect: SqlDialect;
  /**
   * Every write runs in a transaction, single statements too: on SQLite that means BEGIN IMMEDIATE,
   * which waits for another connection's write lock without blocking the event loop.
   */
  write<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** Merges counter rows the database no longer adds to (Postgres), before the counts are read. */
  foldCounts(): Promise<void>;
}

/** What SQLite and Postgres do differently, as the ports need it (see `SqliteStore` and `PostgresStore`). */
export interface SqlDialect {
  /** Postgres: lease with `FOR UPDATE SKIP LOCKED` so concurrent runners never take the same delivery. */
  readonly rowLocks: boolean;
  /**
   * A text column as compared by code point, whatever the database's collation: on Postgres `collate "C"` (its
   * indexes, built with the database's collation, are not used then); SQLite compares so already.
   */
  readonly codePointText: TextOrder;
  /** SQL for the UTF-8 length in bytes of the `events.body` column. */
  readonly bodyBytes: string;
  /**
   * The moment `nowMs` on the clock leases and due times are judged by (expiry, `leaseUntilMs`, when a
   * delivery falls due). SQLite has one runner, so its clock is the caller's; Postgres judges by the
   * database's clock, so runners with skewed clocks agree.
   */
  leaseClock(nowMs: number): RawBuilder<number>;
  /** Whether the database refused a statement for the values in it (a data or constraint error), not for its own state. */
  refusedValues(error: unknown): boolean;
  /**
   * Inserts one group commit's events (distinct ids, in id order) in one transaction: each event not stored
   * yet with its deliveries and user keys, `received_seq` numbered on in arrival order. Answers the ids it
   * inserted; the others were stored already. The hottest path of ingest, so each dialect does it its fastest way.
   */
  insertIngests(rows: readonly IngestRow[]): Promise<ReadonlySet<string>>;
  /** Postgres: whether this transaction may prune (no other store is pruning); SQLite's single writer always may. */
  tryLockPruning(trx: Transaction<Database>): Promise<boolean>;
  /** SQLite: gives the pages a prune or erase freed back to the file system, in the same transaction. */
  reclaimSpace(trx: Transaction<Database>): Promise<void>;
  /** SQLite: moves what an erase left in the WAL into the database file (already overwritten there) and empties the WAL. */
  afterErase(): Promise<void>;
  /**
   * Between two batches of retention or erasure, once the event loop has run: SQLite lets the webhooks that
   * arrived go first and checkpoints the batch's pages; Postgres, whose webhooks never wait for a batch, nothing.
   */
  afterBatch(wrote: boolean): Promise<void>;
}

/** One event of a group commit, with its deliveries and the time it was received. */
export interface Ingest {
  readonly event: IngestEvent;
  readonly deliveries: readonly NewDelivery[];
  readonly nowMs: number;
}

/** One distinct event of a group commit, and its place among them in arrival order (0, 1, …): its `received_seq` follows that. */
export interface IngestRow extends Ingest {
  readonly arrival: number;
}

export type Queryable = Kysely<Database> | Transaction<Database>;
export type TextOrder = (column: string) => RawBuilder<string>;

/** `SqlDialect.codePointText` of a dialect. */
export function codePointOrder(dialect: Dialect): TextOrder {
  return dialect === 'postgres' ? (column) => sql<string>`${sql.ref(column)} collate "C"` : (column) => sql<string>`${sql.ref(column)}`;
}

export type DeliveryFilter = (eb: ExpressionBuilder<Database, 'deliveries'>) => Expression<SqlBool>;

/** Most rows or ids in one statement: well under SQLite's 32766 and Postgres's 65535 parameters. */
export const CHUNK = 500;

export function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) result.push(items.slice(i, i + CHUNK));
  return result;
}

/**
 * A delivery's state read from its row, never looked up through an index. Beside `id IN (…)` or `eventId IN
 * (…)`, SQLite (which keeps no statistics) would otherwise walk that state's whole range of an index instead
 * of finding the listed rows by key: every in-flight delivery for each batch completed, say.
 */
export const stateOfRow = sql<DeliveryState>`(${sql.ref('state')} || '')`;
