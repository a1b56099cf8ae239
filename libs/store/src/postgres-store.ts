import pg from 'pg';
import {
  CamelCasePlugin,
  Kysely,
  PostgresDialect,
  sql,
  type PostgresPool,
  type PostgresPoolClient,
  type RawBuilder,
  type Transaction,
} from 'kysely';
import type { Database } from './database';
import type { IngestRow } from './sql/context';
import { columnArrays, columnNames, eventUserValues, eventValues, newDeliveryValues, type IngestTable } from './sql/ingest-rows';
import { SqlStore, type StoreOptions } from './sql-store';

/** Times are BIGINT milliseconds, far below 2^53: read them as numbers, not strings. Counts too. */
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, Number);

/** SQLSTATE of "index row size exceeds maximum", among others. */
const PROGRAM_LIMIT_EXCEEDED = '54000';

/** Any fixed number: every migrator of this database takes the same lock. */
const MIGRATION_LOCK_KEY = 0x66657272; // 'ferr'
/** Likewise for pruning: one runner prunes at a time. */
const PRUNE_LOCK_KEY = 0x70727565; // 'prue'

/** How long Postgres may take; each can be changed with a `store.` config key (see README). */
export interface PostgresTimeouts {
  /** A statement is cancelled by the server after this long; an answer that never arrives (a partition) is given up a second later. */
  readonly queryTimeoutMs: number;
  /** Opening a connection, and waiting for a free one in the pool. */
  readonly connectTimeoutMs: number;
  /** The server ends a session left idle inside a transaction this long (its locks would hold up the other runners). */
  readonly idleInTransactionTimeoutMs: number;
  /** TCP keepalive probes start after a connection is idle this long, so a dead peer is noticed. */
  readonly keepAliveDelayMs: number;
}

export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = {
  queryTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  idleInTransactionTimeoutMs: 60_000,
  keepAliveDelayMs: 10_000,
};

/** How far the database's clock is ahead of this process's, in whole milliseconds rounded to seconds (see `leaseClock`). */
const clockOffset = () => sql<number>`(round((extract(epoch from now()) * 1000 - ${Date.now()}::numeric) / 1000) * 1000)::bigint`;

/** How much longer than the server's statement timeout the client waits for an answer. */
const CLIENT_GRACE_MS = 1_000;

export interface PostgresStoreOptions extends StoreOptions {
  readonly timeouts?: Partial<PostgresTimeouts>;
}

/**
 * The scale-out store: any number of runners on one Postgres. Leases use `FOR UPDATE SKIP LOCKED`, so
 * runners never take the same delivery; migrations take a transaction-scoped advisory lock, so runners
 * may start at once. The URL may choose a schema: `?options=-c%20search_path%3Dferry`.
 *
 * Every wait is bounded (PostgresTimeouts): behind a network partition, ingest and /readyz fail within
 * the query timeout instead of hanging, and `close` drops connections that cannot say goodbye.
 */
export class PostgresStore extends SqlStore {
  private readonly timeouts: PostgresTimeouts;
  /** Every open connection's socket: the pool names its clients only through events. */
  private readonly sockets = new Map<pg.Client, { destroy(): void }>();

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const timeouts = { ...DEFAULT_POSTGRES_TIMEOUTS, ...options.timeouts };
    const pool = new pg.Pool({
      connectionString: url,
      types,
      connectionTimeoutMillis: timeouts.connectTimeoutMs,
      statement_timeout: timeouts.queryTimeoutMs,
      query_timeout: timeouts.queryTimeoutMs + CLIENT_GRACE_MS,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: timeouts.keepAliveDelayMs,
    });
    const dialect = new PostgresDialect({ pool: droppingTimedOutConnections(pool) });
    super(new Kysely<Database>({ dialect, plugins: [new CamelCasePlugin()] }), 'postgres', options);
    this.timeouts = timeouts;
    pool.on('connect', (client) => this.sockets.set(client, socketOf(client)));
    pool.on('remove', (client) => this.sockets.delete(client));
    // An idle connection that breaks (server restart) must not crash the process; the pool replaces it.
    pool.on('error', (error) => this.logger.warn({ error: error.message }, 'idle Postgres connection failed'));
  }

  /** Closes within the query timeout: a connection whose server does not answer (a partition) is cut. */
  override async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeouts.queryTimeoutMs + CLIENT_GRACE_MS)));
    const closing = super.close();
    await Promise.race([closing, cut]);
    clearTimeout(timer);
    for (const socket of this.sockets.values()) socket.destroy();
    await closing;
  }

  protected readonly bodyBytes = 'octet_length(events.body)';

  /**
   * The database's now() for the moment `nowMs` names: the caller's time moved by how far this process's
   * clock is from the database's. In whole seconds, so the milliseconds a statement takes to arrive do not
   * move it; a caller's clock deliberately apart from the process's (a test's) keeps its offset.
   */
  protected leaseClock(nowMs: number): RawBuilder<number> {
    return sql<number>`(${nowMs}::bigint + ${clockOffset()})::bigint`;
  }

  /** Held until the batch's transaction ends; a runner that finds it taken stands aside until its next round. */
  protected async tryLockPruning(trx: Transaction<Database>): Promise<boolean> {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${PRUNE_LOCK_KEY}) as locked`.execute(trx);
    return rows[0].locked;
  }

  /** Autovacuum reclaims deleted rows' space for reuse; nothing to do in the transaction. */
  protected async reclaimSpace(): Promise<void> {}

  /**
   * Deleted rows stay in the table files until (auto)vacuum reuses their space, and in the WAL and backups
   * the operator keeps: see README, Erasure.
   */
  protected async afterErase(): Promise<void> {}

  /**
   * A batch locks only the rows it deletes, on a connection of its own: webhooks never wait for it. Postgres
   * checkpoints on its own, in the background.
   */
  protected async afterBatch(): Promise<void> {}

  protected async lockForMigration(trx: Transaction<Database>): Promise<void> {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
  }

  /**
   * A connection that ended adds to its counter rows no more, so they can merge into slot 0 without
   * waiting on a writer; a live one's rows stay (one per destination and state it changed).
   */
  protected async foldCounts(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await sql`with ended as (
          delete from delivery_counts
          where slot <> 0 and slot not in (select pid from pg_stat_activity where pid is not null)
          returning destination_id, state, count)
        insert into delivery_counts (destination_id, state, slot, count)
          select destination_id, state, 0, sum(count) from ended group by destination_id, state order by destination_id, state
        on conflict (destination_id, state, slot) do update set count = delivery_counts.count + excluded.count`.execute(trx);
      await sql`with ended as (
          delete from event_counts
          where slot <> 0 and slot not in (select pid from pg_stat_activity where pid is not null)
          returning count)
        insert into event_counts (slot, count) select 0, sum(count) from ended having count(*) > 0
        on conflict (slot) do update set count = event_counts.count + excluded.count`.execute(trx);
    });
  }

  /**
   * One statement for the whole group (its rows passed as arrays and unnested): one round trip instead of one
   * per table and chunk. Events are numbered from the sequence in arrival order (several runners insert at
   * once) and inserted in id order, so runners inserting overlapping groups lock rows in the same order; an
   * event already stored inserts nothing, and neither do its deliveries and user keys. Deliveries fall due
   * by the database's clock, as every due time here does (see `leaseClock`).
   */
  protected async insertIngests(rows: readonly IngestRow[]): Promise<ReadonlySet<string>> {
    const events = rows.map(({ event, nowMs, arrival }) => ({ ...eventValues(event, nowMs), arrival }));
    const deliveries = rows.flatMap(({ event, deliveries, nowMs }) => deliveries.map((d) => newDeliveryValues(event.id, d, nowMs)));
    const users = rows.flatMap(({ event }) => eventUserValues(event));
    const names = (table: IngestTable, extra: readonly string[] = []) => sql.raw(columnNames(table, extra).join(', '));
    // Due times by the database's clock; every other column as given.
    const planned = sql.join(
      columnNames('deliveries').map((name) => (name === 'next_attempt_at_ms' ? sql`${sql.raw(name)} + ${clockOffset()}` : sql.raw(name))),
    );
    const { rows: inserted } = await this.write((trx) =>
      sql<{ id: string }>`
        with arrived as (
          select * from unnest(${columnArrays('events', events, { arrival: 'int' })}) as e (${names('events', ['arrival'])})
        ), numbered as (
          select arrived.*, nextval('events_received_seq') as received_seq from (select * from arrived order by arrival) as arrived
        ), stored as (
          insert into events (${names('events', ['receivedSeq'])})
          select ${names('events', ['receivedSeq'])} from numbered order by id
          on conflict (id) do nothing
          returning id
        ), planned as (
          insert into deliveries (${names('deliveries')})
          select ${planned}
          from unnest(${columnArrays('deliveries', deliveries)}) as d (${names('deliveries')})
          where d.event_id in (select id from stored)
        ), named as (
          insert into event_users (${names('eventUsers')})
          select ${names('eventUsers')} from unnest(${columnArrays('eventUsers', users)}) as u (${names('eventUsers')})
          where u.event_id in (select id from stored)
        )
        select id from stored`.execute(trx),
    );
    return new Set(inserted.map((row) => row.id));
  }

  /** SQLSTATE classes 22 (data exception: out of range, bad syntax) and 23 (constraint), and an index entry too large. */
  protected refusedValues(error: unknown): boolean {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && (/^2[23]/.test(code) || code === PROGRAM_LIMIT_EXCEEDED);
  }
}

/**
 * The pool as Kysely sees it, except that a connection whose query got no answer (pg's client-side
 * `query_timeout`) is destroyed instead of going back to the pool: its unanswered query would block
 * every later one on it. Server errors (a `DatabaseError`, statement timeouts included) leave it usable.
 */
function droppingTimedOutConnections(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken: Error | undefined;
      return {
        query: ((text: string, values: readonly unknown[]) => {
          if (broken) return Promise.reject(broken);
          return client.query(text, values as unknown[]).catch((error: unknown) => {
            if (!(error instanceof pg.DatabaseError)) broken = error as Error;
            throw error;
          });
        }) as PostgresPoolClient['query'],
        release: () => client.release(broken),
      };
    },
    end: () => pool.end(),
  };
}

/** pg keeps a client's socket on its (undocumented but long-stable) `connection.stream`. */
function socketOf(client: pg.Client): { destroy(): void } {
  return (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream;
}
