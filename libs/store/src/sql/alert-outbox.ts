import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { AlertClaim, UnsentAlert } from '@ferry/core';
import type { Database } from '../database';

/*
 * The alert claims and their outbox (`Coordination.claimAlert` … `pruneAlertClaims`), each in the caller's
 * transaction. `now` is the lease clock's now (the database's on Postgres), as for delivery leases.
 */

/** The claim and, when it is the first, one outbox row per target held by its owner. */
export async function claim(trx: Transaction<Database>, claim: AlertClaim, now: RawBuilder<number>): Promise<boolean> {
  const { key, alert, targets, owner, nowMs, leaseMs } = claim;
  // Of two runners inserting the same key at once, the second waits for the first's transaction, then inserts nothing.
  const inserted = await trx
    .insertInto('alertClaims')
    .values({ key, claimedAtMs: nowMs })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
  if (targets > 0) {
    await trx
      .insertInto('alertOutbox')
      .values(
        Array.from({ length: targets }, (_, target) => ({
          key,
          target,
          alert,
          claimedAtMs: nowMs,
          owner,
          leaseUntilMs: sql<number>`${now} + ${leaseMs}`,
        })),
      )
      .execute();
  }
  return true;
}

/** Renews the owner's rows, takes those nobody holds, and answers the oldest `limit` it holds. */
export async function hold(
  trx: Transaction<Database>,
  hold: { owner: string; leaseMs: number; limit: number },
  now: RawBuilder<number>,
): Promise<UnsentAlert[]> {
  const { owner, leaseMs, limit } = hold;
  // On Postgres, of two runners taking the same expired row, the second re-reads it after the first commits and skips it.
  await trx
    .updateTable('alertOutbox')
    .set({ owner, leaseUntilMs: sql<number>`${now} + ${leaseMs}` })
    .where((eb) => eb.or([eb('owner', '=', owner), eb('owner', 'is', null), eb('leaseUntilMs', '<', now)]))
    .execute();
  return trx
    .selectFrom('alertOutbox')
    .select(['key', 'target', 'alert'])
    .where('owner', '=', owner)
    .orderBy('claimedAtMs')
    .orderBy('key')
    .orderBy('target')
    .limit(limit)
    .execute();
}

export async function sent(trx: Transaction<Database>, key: string, target: number): Promise<void> {
  await trx.deleteFrom('alertOutbox').where('key', '=', key).where('target', '=', target).execute();
}

export async function release(trx: Transaction<Database>, owner: string): Promise<number> {
  const result = await trx
    .updateTable('alertOutbox')
    .set({ owner: null, leaseUntilMs: null })
    .where('owner', '=', owner)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** At most `limit` claims, found through their time's index: one short statement however many have piled up. */
export async function prune(trx: Transaction<Database>, beforeMs: number, limit: number): Promise<number> {
  const old = trx
    .selectFrom('alertClaims')
    .select('key')
    .where('claimedAtMs', '<', beforeMs)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('alertOutbox').select('alertOutbox.key').whereRef('alertOutbox.key', '=', 'alertClaims.key'))),
    )
    .orderBy('claimedAtMs')
    .limit(limit);
  const result = await trx.deleteFrom('alertClaims').where('key', 'in', old).executeTakeFirst();
  return Number(result.numDeletedRows);
}
