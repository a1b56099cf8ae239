import { sql, type RawBuilder, type Transaction } from 'kysely';
import {
  completionInto,
  stateAfter,
  statesFrom,
  StoreInputError,
  type DeliveryUpdate,
  type IngestEvent,
  type LeaseRenewal,
  type LeaseSteps,
  type NewDelivery,
  type QueueBackend,
} from '@ferry/core';
import { CommitHealth } from '../commit-health';
import type { Database } from '../database';
import { GroupCommit } from '../group-commit';
import { chunks, stateOfRow, type DeliveryFilter, type Ingest, type SqlContext } from './context';
import { SqlLeaseSteps } from './lease-steps';
import { settleClaims, type Settlement } from './state-marks';

type IngestResult = 'stored' | 'duplicate';

/** Most events in one group commit. */
const MAX_GROUP = 500;
/** Most events waiting for a group commit while the database is slow; beyond it ingest fails (the webhook gets 503). */
const MAX_WAITING = 10 * MAX_GROUP;

/**
 * The delivery queue's backend on SQL: ingest in group commits, the steps of a lease (sql/lease-steps.ts; the
 * engine's policy runs them), renewals, outcomes and pause moves.
 *
 * Lost leases: `complete` only touches deliveries still `in_flight` under the caller's lease (one
 * that expired and was released, or taken over by another runner, is left alone, and logged), so a
 * late answer never overwrites a newer state or adds an attempt to a delivery it no longer holds.
 */
export class SqlQueue implements QueueBackend {
  private readonly ingests: GroupCommit<Ingest, IngestResult>;
  private readonly commitHealth = new CommitHealth();
  private commits = 0;

  constructor(
    private readonly context: SqlContext,
    reachable: () => Promise<boolean>,
  ) {
    this.ingests = new GroupCommit<Ingest, IngestResult>((items) => this.commitIngests(items), MAX_GROUP, reachable, MAX_WAITING);
  }

  /** How many ingest transactions have committed: fewer than events ingested when group commit works. */
  get ingestCommits(): number {
    return this.commits;
  }

  ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<IngestResult> {
    // A refused event failed alone (group commit retries each item of a failed group on its own).
    return this.ingests.submit({ event, deliveries, nowMs }).catch((error: unknown) => {
      if (!this.context.dialect.refusedValues(error)) throw error;
      // The database's own message may quote the values: it stays in `cause`, for the log only.
      throw new StoreInputError('the store cannot keep this event as it is', undefined, { cause: error });
    });
  }

  /**
   * Resolves at once while ingest commits succeed; after one failed, a small write through `write` shows
   * whether one would succeed now (see `CommitHealth`).
   */
  checkCommits(write: SqlContext['write']): Promise<void> {
    return this.commitHealth.check((probe) => write(probe));
  }

  /** Resolves once every ingest submitted so far has committed (or failed). */
  ingestsFlushed(): Promise<void> {
    return this.ingests.flushed();
  }

  /** Refuses new ingests and waits for those already submitted to commit. */
  closeIngests(): Promise<void> {
    return this.ingests.close();
  }

  private async commitIngests(items: readonly Ingest[]): Promise<IngestResult[]> {
    // A second copy of an id in the same group is a duplicate of the first.
    const firstIndex = new Map<string, number>();
    items.forEach((item, i) => {
      if (!firstIndex.has(item.event.id)) firstIndex.set(item.event.id, i);
    });
    // Numbered in the order they arrived (items are in submission order), then inserted in id order, so two
    // runners inserting overlapping groups take row locks in the same order (no deadlock).
    const rows = items
      .filter((item, i) => firstIndex.get(item.event.id) === i)
      .map((item, arrival) => ({ ...item, arrival }))
      .sort((a, b) => (a.event.id < b.event.id ? -1 : 1));
    let stored: ReadonlySet<string>;
    try {
      stored = await this.context.dialect.insertIngests(rows);
    } catch (error) {
      if (!this.context.dialect.refusedValues(error)) this.commitHealth.failed(error);
      throw error;
    }
    this.commitHealth.succeeded();
    this.commits += 1;
    return items.map((item, i) => (firstIndex.get(item.event.id) === i && stored.has(item.event.id) ? 'stored' : 'duplicate'));
  }

  leasing<T>(nowMs: number, work: (steps: LeaseSteps) => Promise<T>): Promise<T> {
    return this.context.write((trx) => work(new SqlLeaseSteps(trx, nowMs, this.context)));
  }

  async renewLeases(renewal: LeaseRenewal): Promise<string[]> {
    const { deliveryIds, owner, nowMs, leaseMs } = renewal;
    const now = this.context.dialect.leaseClock(nowMs);
    return this.context.write(async (trx) => {
      const held: string[] = [];
      for (const ids of chunks(deliveryIds)) {
        const rows = await trx
          .updateTable('deliveries')
          .set({ leaseUntilMs: sql<number>`${now} + ${leaseMs}`, updatedAtMs: nowMs })
          .where(leasedBy(owner, ids))
          .returning('id')
          .execute();
        held.push(...rows.map((row) => row.id));
      }
      return held;
    });
  }

  async heldLeases(deliveryIds: readonly string[], owner: string): Promise<string[]> {
    const held: string[] = [];
    for (const ids of chunks(deliveryIds)) {
      const rows = await this.context.db.selectFrom('deliveries').select('id').where(leasedBy(owner, ids)).execute();
      held.push(...rows.map((row) => row.id));
    }
    return held;
  }

  async complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void> {
    if (updates.length === 0) return;
    // Updates that change rows alike (a whole batch delivered, say) go out as one statement.
    const groups = new Map<string, { update: DeliveryUpdate; ids: string[] }>();
    for (const update of updates) {
      const key = JSON.stringify({ ...update, deliveryId: undefined, stateClaim: undefined });
      const group = groups.get(key);
      if (group) group.ids.push(update.deliveryId);
      else groups.set(key, { update, ids: [update.deliveryId] });
    }
    const lost: string[] = [];
    const now = this.context.dialect.leaseClock(nowMs);
    const claims = new Map(updates.flatMap((update) => (update.stateClaim ? [[update.deliveryId, update.stateClaim] as const] : [])));
    await this.context.write(async (trx) => {
      const settlements: Settlement[] = [];
      for (const { update, ids } of groups.values()) {
        const { state, attempt } = update;
        for (const group of chunks(ids)) {
          const rows = await trx
            .updateTable('deliveries')
            .set((eb) => ({
              state,
              attempts: attempt ? eb('attempts', '+', 1) : undefined,
              // Paused ones keep the time they fell due (probes take the oldest first); final states need none. A retry
              // falls due its delay after the lease clock's now, so a runner's skewed clock cannot make it early or late.
              nextAttemptAtMs:
                state === 'pending'
                  ? sql<number>`${now} + ${(update.nextAttemptAtMs ?? nowMs) - nowMs}`
                  : state === 'paused'
                    ? undefined
                    : null,
              leaseUntilMs: null,
              leaseOwner: null,
              // Its holder finished the attempt: interruptions are counted in a row.
              interruptions: 0,
              // Without new values, the last request's status and error stay (a dead delivery keeps them).
              lastStatus: update.lastStatus !== undefined ? update.lastStatus : attempt?.status,
              lastError: update.lastError !== undefined ? update.lastError : attempt?.error,
              deliveredAtMs: state === 'delivered' ? nowMs : undefined,
              updatedAtMs: nowMs,
            }))
            .where('id', 'in', group)
            .where(stateOfRow, 'in', statesFrom(completionInto(state)))
            .where('leaseOwner', '=', owner)
            .returning(['id', 'attempts', 'destinationId'])
            .execute();
          if (attempt && rows.length > 0) {
            await trx
              .insertInto('attempts')
              .values(rows.map((row) => ({ deliveryId: row.id, number: row.attempts, ...attempt })))
              .execute();
          }
          const applied = new Set(rows.map((row) => row.id));
          lost.push(...group.filter((id) => !applied.has(id)));
          for (const { id, destinationId } of rows) {
            const claim = claims.get(id);
            if (claim) settlements.push({ destinationId, deliveryId: id, ...claim });
          }
        }
      }
      if (settlements.length > 0) await settleClaims(trx, settlements);
    });
    if (lost.length > 0) {
      this.context.logger.warn({ deliveryIds: lost }, 'ignored outcomes for deliveries no longer leased (lease expired or released)');
    }
  }

  setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number> {
    return this.context.write((trx) => movePaused(trx, destinationId, paused, nowMs, this.context.dialect.leaseClock(nowMs)));
  }

  async nextDueAtMs(destinationId: string): Promise<number | undefined> {
    const row = await this.context.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.min('nextAttemptAtMs').as('dueAtMs'))
      .where('destinationId', '=', destinationId)
      .where('state', 'in', statesFrom('lease'))
      .executeTakeFirst();
    return row?.dueAtMs ?? undefined;
  }
}

/** These of `owner`'s deliveries still in flight under its lease. */
function leasedBy(owner: string, ids: readonly string[]): DeliveryFilter {
  return (eb) => eb.and([eb('id', 'in', ids), eb(stateOfRow, 'in', statesFrom('takeOver')), eb('leaseOwner', '=', owner)]);
}

/**
 * A destination's pending deliveries to paused, or paused back to pending, due at `dueAtMs` (now on the lease
 * clock); answers how many moved.
 */
export async function movePaused(
  trx: Transaction<Database>,
  destinationId: string,
  paused: boolean,
  nowMs: number,
  dueAtMs: number | RawBuilder<number>,
): Promise<number> {
  const transition = paused ? 'pause' : 'resume';
  const result = await trx
    .updateTable('deliveries')
    .set({ state: stateAfter(transition), nextAttemptAtMs: paused ? undefined : dueAtMs, updatedAtMs: nowMs })
    .where('destinationId', '=', destinationId)
    .where('state', 'in', statesFrom(transition))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
