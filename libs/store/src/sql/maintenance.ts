import type { RawBuilder, Transaction } from 'kysely';
import {
  allows,
  DESTINATION_REMOVED,
  stateAfter,
  statesFrom,
  type DeliveryState,
  type Maintenance,
  type PruneResult,
  type Reassignment,
  type ReplaySelector,
  type RetentionCutoffs,
} from '@ferry/core';
import { BatchPace } from '../batch-pace';
import type { Database, DeliveriesTable } from '../database';
import { userKey } from '../user-key';
import { CHUNK, chunks, stateOfRow, yieldToEventLoop, type DeliveryFilter, type Queryable, type SqlContext } from './context';
import { customerOf, eraseMarks } from './state-marks';

type ReplayWindow = Pick<ReplaySelector, 'fromMs' | 'toMs'>;
type EventCursor = { readonly receivedAtMs: number; readonly id: string };

/**
 * Maintenance on SQL: replay, orphans, retention and erasure, each in short transactions found through an
 * index, with the event loop running between them.
 */
export class SqlMaintenance implements Maintenance {
  constructor(private readonly context: SqlContext) {}

  async replay(selector: ReplaySelector, nowMs: number, onProgress?: (replayed: number) => void): Promise<number> {
    const { deliveryIds, eventIds, fromMs, toMs, destinationId } = selector;
    if (deliveryIds === undefined && eventIds === undefined && fromMs === undefined && toMs === undefined) {
      throw new Error('replay: give deliveryIds, eventIds, or a fromMs/toMs window');
    }
    // Whatever the selector asks for, only states the table lets replay.
    const states = (selector.states ?? ['dead', 'skipped']).filter((state) => allows('replay', state));
    if (states.length === 0 || deliveryIds?.length === 0 || eventIds?.length === 0) return 0;
    const window = { fromMs, toMs };
    const byIds = deliveryIds !== undefined || eventIds !== undefined;
    let replayed = 0;
    // One short transaction per batch, each found through an index: nothing scans the whole table, and the
    // event loop runs (webhooks, health checks) between batches.
    for await (const batch of byIds ? idBatches(deliveryIds, eventIds) : this.windowBatches(window)) {
      const result = await this.context.write((trx) =>
        replayUpdate(
          trx,
          { batch, states, destinationId, window: byIds ? window : undefined },
          nowMs,
          this.context.dialect.leaseClock(nowMs),
        ).executeTakeFirst(),
      );
      replayed += Number(result.numUpdatedRows);
      onProgress?.(replayed);
      await yieldToEventLoop();
    }
    return replayed;
  }

  /** The deliveries of CHUNK events at a time received in the window, in (receivedAtMs, id) order on events_received_idx. */
  private async *windowBatches(window: ReplayWindow): AsyncGenerator<DeliveryFilter> {
    for (let after: EventCursor | undefined; ;) {
      const page = await windowPage(this.context.db, window, after).execute();
      if (page.length === 0) return;
      after = page[page.length - 1];
      const ids = page.map((event) => event.id);
      yield (eb) => eb('eventId', 'in', ids);
      if (page.length < CHUNK) return;
    }
  }

  async dropOrphans(destinationId: string, nowMs: number): Promise<number> {
    return this.inChunks(destinationId, 'dropOrphan', nowMs, (trx, ids) =>
      trx
        .updateTable('deliveries')
        .set({
          state: stateAfter('dropOrphan'),
          lastError: DESTINATION_REMOVED,
          nextAttemptAtMs: null,
          leaseUntilMs: null,
          leaseOwner: null,
          updatedAtMs: nowMs,
        })
        .where('id', 'in', ids)
        .where(waitingOrphan('dropOrphan', nowMs))
        .executeTakeFirst(),
    );
  }

  async reassignOrphans(fromDestinationId: string, toDestinationId: string, nowMs: number): Promise<Reassignment> {
    // An event already delivered (or waiting) to the new destination keeps that delivery: the unique
    // (event, destination) pair cannot hold two, and sending it twice would duplicate it downstream.
    const notThereYet: DeliveryFilter = (eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('deliveries as taken')
            .select('taken.id')
            .whereRef('taken.eventId', '=', 'deliveries.eventId')
            .where('taken.destinationId', '=', toDestinationId),
        ),
      );
    const reassigned = await this.inChunks(
      fromDestinationId,
      'reassignOrphan',
      nowMs,
      (trx, ids) =>
        trx
          .updateTable('deliveries')
          .set({
            destinationId: toDestinationId,
            state: stateAfter('reassignOrphan'),
            nextAttemptAtMs: this.context.dialect.leaseClock(nowMs),
            windowStartMs: nowMs,
            leaseUntilMs: null,
            leaseOwner: null,
            updatedAtMs: nowMs,
          })
          .where('id', 'in', ids)
          .where(waitingOrphan('reassignOrphan', nowMs))
          .where(notThereYet)
          .executeTakeFirst(),
      notThereYet,
    );
    const kept = await this.context.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('destinationId', '=', fromDestinationId)
      .where(waitingOrphan('reassignOrphan', nowMs))
      .executeTakeFirstOrThrow();
    return { reassigned, kept: Number(kept.count) };
  }

  /**
   * Applies `change` to one destination's waiting deliveries CHUNK at a time (found on deliveries_due_idx),
   * each chunk its own transaction, yielding between them. A changed delivery leaves the selection, so
   * no cursor is needed.
   */
  private async inChunks(
    destinationId: string,
    transition: 'dropOrphan' | 'reassignOrphan',
    nowMs: number,
    change: (trx: Transaction<Database>, ids: readonly string[]) => Promise<{ numUpdatedRows: bigint }>,
    where?: DeliveryFilter,
  ): Promise<number> {
    let changed = 0;
    for (;;) {
      const ids = (await orphanPage(this.context.db, destinationId, transition, nowMs, where).execute()).map((row) => row.id);
      if (ids.length === 0) break;
      changed += Number((await this.context.write((trx) => change(trx, ids))).numUpdatedRows);
      await yieldToEventLoop();
      if (ids.length < CHUNK) break;
    }
    return changed;
  }

  async prune(cutoffs: RetentionCutoffs, onProgress?: (removed: number) => void, signal?: AbortSignal): Promise<PruneResult> {
    const { finalBeforeMs, deadBeforeMs } = cutoffs;
    const { db, dialect } = this.context;
    const expiring = statesFrom('expire') as readonly DeliveryState[];
    let removed = 0;
    const pace = new BatchPace();
    // Old events still waiting stay in the way: a cursor walks past them rather than reading them again.
    for (let after: EventCursor | undefined; !signal?.aborted;) {
      const size = pace.begin();
      const page = await windowPage(db, { toMs: Math.max(finalBeforeMs, deadBeforeMs) }, after, size).execute();
      if (page.length === 0) break;
      after = page[page.length - 1];
      const outcome = await this.context.write(async (trx) => {
        if (!(await dialect.tryLockPruning(trx))) return 'busy' as const;
        const ids = page.map((event) => event.id);
        // The final ones locked (in id order), so a replay cannot make one pending before the delete; waiting
        // ones only read, so completing a delivery in flight never waits for retention (nor deadlocks with it).
        const final = await trx
          .selectFrom('deliveries')
          .select(['eventId', 'state'])
          .where('eventId', 'in', ids)
          .where(stateOfRow, 'in', expiring)
          .orderBy('id')
          .$if(dialect.rowLocks, (q) => q.forUpdate())
          .execute();
        const waiting = await trx
          .selectFrom('deliveries')
          .select('eventId')
          .where('eventId', 'in', ids)
          .where(stateOfRow, 'not in', expiring)
          .execute();
        const kept = new Set(waiting.map((row) => row.eventId));
        const withDead = new Set(final.filter((row) => row.state === 'dead').map((row) => row.eventId));
        const expired = page
          .filter((event) => !kept.has(event.id) && event.receivedAtMs < (withDead.has(event.id) ? deadBeforeMs : finalBeforeMs))
          .map((event) => event.id);
        const count = await removeEvents(trx, expired);
        if (count > 0) await dialect.reclaimSpace(trx);
        return count;
      });
      pace.end();
      if (outcome === 'busy') return { removed, busy: true };
      removed += outcome;
      onProgress?.(removed);
      await this.betweenBatches(outcome > 0);
      if (page.length < size) break;
    }
    return { removed, busy: false };
  }

  async erase(appUserId: string): Promise<number> {
    const { db, dialect } = this.context;
    const key = userKey(appUserId);
    // Whose marks go: read before the events that tell it.
    const customer = await customerOf(db, appUserId);
    let erased = 0;
    const pace = new BatchPace();
    for (;;) {
      const size = pace.begin();
      const ids = (await db.selectFrom('eventUsers').select('eventId').where('userKey', '=', key).limit(size).execute()).map(
        (row) => row.eventId,
      );
      if (ids.length === 0) break;
      erased += await this.context.write(async (trx) => {
        const count = await removeEvents(trx, ids);
        await dialect.reclaimSpace(trx);
        return count;
      });
      pace.end();
      await this.betweenBatches(true);
    }
    await this.context.write((trx) => eraseMarks(trx, customer));
    await dialect.afterErase();
    return erased;
  }

  /** Between two batches of a background deletion: the event loop runs (webhooks, health checks), then the store's own step. */
  private async betweenBatches(wrote: boolean): Promise<void> {
    await yieldToEventLoop();
    await this.context.dialect.afterBatch(wrote);
  }
}

/**
 * The one way events leave the store (retention and erasure): with their attempts, deliveries and user
 * keys, whatever state the deliveries are in (callers choose the events). Answers how many were removed.
 */
async function removeEvents(trx: Transaction<Database>, eventIds: readonly string[]): Promise<number> {
  let removed = 0;
  for (const ids of chunks(eventIds)) {
    await trx
      .deleteFrom('attempts')
      .where('deliveryId', 'in', (eb) => eb.selectFrom('deliveries').select('id').where('eventId', 'in', ids))
      .execute();
    await trx.deleteFrom('deliveries').where('eventId', 'in', ids).execute();
    await trx.deleteFrom('eventUsers').where('eventId', 'in', ids).execute();
    const result = await trx.deleteFrom('events').where('id', 'in', ids).executeTakeFirst();
    removed += Number(result.numDeletedRows);
  }
  return removed;
}

/** Replay's batches for id lists: CHUNK ids per statement at most. */
async function* idBatches(deliveryIds?: readonly string[], eventIds?: readonly string[]): AsyncGenerator<DeliveryFilter> {
  for (const someDeliveryIds of deliveryIds ? chunks(deliveryIds) : [undefined]) {
    for (const someEventIds of eventIds ? chunks(eventIds) : [undefined]) {
      yield (eb) =>
        eb.and([
          ...(someDeliveryIds ? [eb('id', 'in', someDeliveryIds)] : []),
          ...(someEventIds ? [eb('eventId', 'in', someEventIds)] : []),
        ]);
    }
  }
}

/** The next `limit` events received in the window after `after`, in index order (events_received_idx, no sort). */
export function windowPage(db: Queryable, window: ReplayWindow, after?: EventCursor, limit = CHUNK) {
  return db
    .selectFrom('events')
    .select(['receivedAtMs', 'id'])
    .$if(window.fromMs !== undefined, (q) => q.where('receivedAtMs', '>=', window.fromMs!))
    .$if(window.toMs !== undefined, (q) => q.where('receivedAtMs', '<', window.toMs!))
    .$if(after !== undefined, (q) =>
      q.where(({ eb, refTuple, tuple }) => eb(refTuple('receivedAtMs', 'id'), '>', tuple(after!.receivedAtMs, after!.id))),
    )
    .orderBy('receivedAtMs')
    .orderBy('id')
    .limit(limit);
}

/**
 * One replay batch: the batch's deliveries (by id on the primary key, or by event on the unique
 * (event, destination) index) in a replayable state. `window` filters id batches by their event's receipt.
 * They fall due at `dueAtMs`: now on the lease clock.
 */
export function replayUpdate(
  db: Queryable,
  replay: { batch: DeliveryFilter; states: readonly string[]; destinationId?: string; window?: ReplayWindow },
  nowMs: number,
  dueAtMs: number | RawBuilder<number> = nowMs,
) {
  const { batch, states, destinationId, window } = replay;
  return db
    .updateTable('deliveries')
    .set({
      state: stateAfter('replay'),
      nextAttemptAtMs: dueAtMs,
      windowStartMs: nowMs,
      leaseUntilMs: null,
      leaseOwner: null,
      deliveredAtMs: null,
      updatedAtMs: nowMs,
    })
    .where(batch)
    .where(stateOfRow, 'in', states as DeliveriesTable['state'][])
    .$if(destinationId !== undefined, (q) => q.where('destinationId', '=', destinationId!))
    .$if(window !== undefined && (window.fromMs !== undefined || window.toMs !== undefined), (q) =>
      q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('events')
            .select('events.id')
            .whereRef('events.id', '=', 'deliveries.eventId')
            .$if(window!.fromMs !== undefined, (e) => e.where('events.receivedAtMs', '>=', window!.fromMs!))
            .$if(window!.toMs !== undefined, (e) => e.where('events.receivedAtMs', '<', window!.toMs!)),
        ),
      ),
    );
}

/** Waiting deliveries an orphan operation may change: the transition's states, in-flight ones only once their lease expired. */
function waitingOrphan(transition: 'dropOrphan' | 'reassignOrphan', nowMs: number): DeliveryFilter {
  const settled = statesFrom(transition).filter((state) => state !== 'in_flight');
  return (eb) =>
    eb.or([
      eb('state', 'in', settled),
      ...(allows(transition, 'in_flight') ? [eb.and([eb('state', '=', 'in_flight'), eb('leaseUntilMs', '<', nowMs)])] : []),
    ]);
}

/** The next CHUNK waiting deliveries of a destination no longer configured, on deliveries_due_idx. */
export function orphanPage(
  db: Queryable,
  destinationId: string,
  transition: 'dropOrphan' | 'reassignOrphan',
  nowMs: number,
  where?: DeliveryFilter,
) {
  return db
    .selectFrom('deliveries')
    .select('id')
    .where('destinationId', '=', destinationId)
    .where(waitingOrphan(transition, nowMs))
    .$if(where !== undefined, (q) => q.where(where!))
    .limit(CHUNK);
}
