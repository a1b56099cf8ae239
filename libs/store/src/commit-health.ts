import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import { StoreUnavailableError } from '@ferry/core';
import type { Database } from './database';

/** The migrations table's version for the probe's row, which never outlives its transaction. */
const PROBE_VERSION = -1;
/** Random, so Postgres cannot compress it: a few pages, as a small group commit writes. */
const PROBE_BYTES = 8_192;

/**
 * Whether the store can commit new events. A database can answer queries and still refuse every new row (a full
 * disk): while ingest commits fail, readiness asks for a small commit instead of a query.
 */
export class CommitHealth {
  /** Why the last ingest commit failed, until one succeeds. */
  private failure: unknown;

  failed(error: unknown): void {
    this.failure = error;
  }

  succeeded(): void {
    this.failure = undefined;
  }

  /**
   * Resolves at once while commits succeed. After a failure, runs `probe` through `write`: it succeeding clears
   * the failure; it failing throws a `StoreUnavailableError` naming the database's reason.
   */
  async check(write: (work: (trx: Transaction<Database>) => Promise<void>) => Promise<void>): Promise<void> {
    if (this.failure === undefined) return;
    try {
      await write(probe);
      this.failure = undefined;
    } catch (error) {
      // Not `instanceof Error`: a driver's errors may come from another realm.
      const message = (error as { message?: unknown } | null)?.message;
      const reason = typeof message === 'string' ? message : String(error);
      throw new StoreUnavailableError(`the store cannot commit (${reason}): new events are refused until it can`, { cause: error });
    }
  }
}

/**
 * A commit that needs new room, as an ingest does: a row of a few pages, written and removed again in the same
 * transaction (no other connection ever sees it). A full disk fails it; a store that can take events does not.
 */
async function probe(trx: Transaction<Database>): Promise<void> {
  await trx
    .insertInto('ferryMigrations')
    .values({ version: PROBE_VERSION, name: randomBytes(PROBE_BYTES).toString('hex'), appliedAtMs: 0 })
    .execute();
  await trx.deleteFrom('ferryMigrations').where('version', '=', PROBE_VERSION).execute();
}
