import pg from 'pg';
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from './database';
import { SqlStore, type StoreOptions } from './sql-store';

/** Times are BIGINT milliseconds, far below 2^53: read them as numbers, not strings. Counts too. */
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, Number);

/** SQLSTATE of "index row size exceeds maximum", among others. */
const PROGRAM_LIMIT_EXCEEDED = '54000';

/** Any fixed number: every migrator of this database takes the same lock. */
const MIGRATION_LOCK_KEY = 0x66657272; // 'ferr'

/**
 * The scale-out store: any number of runners on one Postgres. Leases use `FOR UPDATE SKIP LOCKED`, so
 * runners never take the same delivery; migrations take a transaction-scoped advisory lock, so runners
 * may start at once. The URL may choose a schema: `?options=-c%20search_path%3Dferry`.
 */
export class PostgresStore extends SqlStore {
  constructor(url: string, options: StoreOptions = {}) {
    const pool = new pg.Pool({ connectionString: url, types, connectionTimeoutMillis: 5_000 });
    super(new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] }), true, options);
    // An idle connection that breaks (server restart) must not crash the process; the pool replaces it.
    pool.on('error', (error) => this.logger.warn({ error: error.message }, 'idle Postgres connection failed'));
  }

  protected readonly bodyBytes = 'octet_length(body)';

  /**
   * The database's now() for the moment `nowMs` names: the caller's time moved by how far this process's
   * clock is from the database's. In whole seconds, so the milliseconds a statement takes to arrive do not
   * move it; a caller's clock deliberately apart from the process's (a test's) keeps its offset.
   */
  protected leaseClock(nowMs: number): RawBuilder<number> {
    return sql<number>`(${nowMs}::bigint + round((extract(epoch from now()) * 1000 - ${Date.now()}::numeric) / 1000) * 1000)::bigint`;
  }

  protected async lockForMigration(trx: Transaction<Database>): Promise<void> {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
  }

  /** SQLSTATE classes 22 (data exception: out of range, bad syntax) and 23 (constraint), and an index entry too large. */
  protected refusedValues(error: unknown): boolean {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && (/^2[23]/.test(code) || code === PROGRAM_LIMIT_EXCEEDED);
  }
}
