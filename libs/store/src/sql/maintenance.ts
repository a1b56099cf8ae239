import type { RawBuilder, Transaction } from 'kysely';
import {
  allows,
  DESTINATION_REMOVED,
  expiredEventIds,
  stateAfter,
  statesFrom,
  type DeliveryState,
  type MaintenanceBackend,
  type OrphanTransition,
  type ReceivedEvent,
  type ReceivedWindow,
  type ReplayBatch,
  type ReplayFilter,
  type RetentionCutoffs,
} from '@ferry/core';
import type { Database, DeliveriesTable } from '../database';
import { userKey } from '../user-key';
import { CHUNK, chunks, stateOfRow, type DeliveryFilter, type Queryable, type SqlContext } from './context';
import { customerOf, eraseMarks, type Customer } from './state-marks';

/**
 * Maintenance's backend on SQL: one batch of replay, orphans, retention or erasure at a time, each a short
 * transaction (or a read) found through an index. The engine's policy drives the batches.
 */
export class SqlMaintenance implements MaintenanceBackend<Customer> {
  constructor(private readonly context: SqlContext) {}

  receivedEvents(window: ReceivedWindow, after: ReceivedEvent | undefined, limit: number): Promise<ReceivedEvent[]> {
    return windowPage(this.context.db, window, after, limit).execute();
  }

  async replayBatch(batch: ReplayBatch, filter: ReplayFilter, nowMs: number): Promise<number> {
    const result = await this.context.write((trx) =>
      replayUpdate(trx, { ...filter, batch: batchFilter(batch) }, nowMs, this.context.dialect.leaseClock(nowMs)).executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  async countReplayBatch(batch: ReplayBatch, filter: ReplayFilter): Promise<number> {
    const { count } = await replayCount(this.context.db, { ...filter, batch: batchFilter(batch) }).executeTakeFirstOrThrow();
    return Number(count);
  }

  async waitingOrphans(
    destinationId: string,
    transition: OrphanTransition,
    nowMs: number,
    limit: number,
    notAt?: string,
  ): Promise<string[]> {
    const rows = await orphanPage(
      this.context.db,
      destinationId,
      transition,
      this.context.dialect.leaseClock(nowMs),
      notAt === undefined ? undefined : notThereYet(notAt),
      limit,
    ).execute();
    return rows.map((row) => row.id);
  }

  async countWaitingOrphans(destinationId: string, transition: OrphanTransition, nowMs: number): Promise<number> {
    const { count } = await this.context.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('destinationId', '=', destinationId)
      .where(waitingOrphan(transition, this.context.dialect.leaseClock(nowMs)))
      .executeTakeFirstOrThrow();
    return Number(count);
  }

  async dropOrphans(deliveryIds: readonly string[], nowMs: number): Promise<number> {
    const result = await this.context.write((trx) =>
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
        .where('id', 'in', deliveryIds)
        .where(waitingOrphan('dropOrphan', this.context.dialect.leaseClock(nowMs)))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  async reassignOrphans(deliveryIds: readonly string[], toDestinationId: string, nowMs: number): Promise<number> {
    const result = await this.context.write((trx) =>
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
        .where('id', 'in', deliveryIds)
        .where(waitingOrphan('reassignOrphan', this.context.dialect.leaseClock(nowMs)))
        .where(notThereYet(toDestinationId))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  expire(events: readonly ReceivedEvent[], cutoffs: RetentionCutoffs): Promise<number | 'busy'> {
    const { dialect } = this.context;
    const expiring = statesFrom('expire') as readonly DeliveryState[];
    return this.context.write(async (trx) => {
      if (!(await dialect.tryLockPruning(trx))) return 'busy' as const;
      const ids = events.map((event) => event.id);
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
        .select(['eventId', 'state'])
        .where('eventId', 'in', ids)
        .where(stateOfRow, 'not in', expiring)
        .execute();
      const count = await removeEvents(trx, expiredEventIds(events, [...final, ...waiting], cutoffs));
      if (count > 0) await dialect.reclaimSpace(trx);
      return count;
    });
  }

  async eventsNaming(appUserId: string, limit: number): Promise<string[]> {
    const rows = await this.context.db
      .selectFrom('eventUsers')
      .select('eventId')
      .where('userKey', '=', userKey(appUserId))
      .limit(limit)
      .execute();
    return rows.map((row) => row.eventId);
  }

  removeEvents(eventIds: readonly string[]): Promise<number> {
    return this.context.write(async (trx) => {
      const count = await removeEvents(trx, eventIds);
      await this.context.dialect.reclaimSpace(trx);
      return count;
    });
  }

  customerOf(appUserId: string): Promise<Customer> {
    return customerOf(this.context.db, appUserId);
  }

  eraseMarks(customer: Customer): Promise<void> {
    return this.context.write((trx) => eraseMarks(trx, customer));
  }

  afterErase(): Promise<void> {
    return this.context.dialect.afterErase();
  }

  afterBatch(wrote: boolean): Promise<void> {
    return this.context.dialect.afterBatch(wrote);
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

/** The deliveries a replay batch names, as a condition: by id on the primary key, by event on (event, destination). */
function batchFilter({ deliveryIds, eventIds }: ReplayBatch): DeliveryFilter {
  if (deliveryIds && eventIds) return (eb) => eb.and([eb('id', 'in', deliveryIds), eb('eventId', 'in', eventIds)]);
  if (deliveryIds) return (eb) => eb('id', 'in', deliveryIds);
  return (eb) => eb('eventId', 'in', eventIds ?? []);
}

/** Deliveries whose event has no delivery to `destinationId` yet. */
function notThereYet(destinationId: string): DeliveryFilter {
  return (eb) =>
    eb.not(
      eb.exists(
        eb
          .selectFrom('deliveries as taken')
          .select('taken.id')
          .whereRef('taken.eventId', '=', 'deliveries.eventId')
          .where('taken.destinationId', '=', destinationId),
      ),
    );
}

/** The next `limit` events received in the window after `after`, in index order (events_received_idx, no sort). */
export function windowPage(db: Queryable, window: ReceivedWindow, after?: ReceivedEvent, limit = CHUNK) {
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
export function replayUpdate(db: Queryable, replay: ReplayRows, nowMs: number, dueAtMs: number | RawBuilder<number> = nowMs) {
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
    .where(replayable(replay));
}

/** How many deliveries `replayUpdate` would change: the same rows, counted. */
export function replayCount(db: Queryable, replay: ReplayRows) {
  return db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where(replayable(replay));
}

/** What one replay batch changes: the batch's deliveries, in these states, of this destination, their event received in `window`. */
interface ReplayRows {
  readonly batch: DeliveryFilter;
  readonly states: readonly string[];
  readonly destinationId?: string;
  readonly window?: ReceivedWindow;
}

function replayable({ batch, states, destinationId, window }: ReplayRows): DeliveryFilter {
  return (eb) =>
    eb.and([
      batch(eb),
      eb(stateOfRow, 'in', states as DeliveriesTable['state'][]),
      ...(destinationId !== undefined ? [eb('destinationId', '=', destinationId)] : []),
      ...(window !== undefined && (window.fromMs !== undefined || window.toMs !== undefined)
        ? [
            eb.exists(
              eb
                .selectFrom('events')
                .select('events.id')
                .whereRef('events.id', '=', 'deliveries.eventId')
                .$if(window.fromMs !== undefined, (e) => e.where('events.receivedAtMs', '>=', window.fromMs!))
                .$if(window.toMs !== undefined, (e) => e.where('events.receivedAtMs', '<', window.toMs!)),
            ),
          ]
        : []),
    ]);
}

/**
 * Waiting deliveries an orphan operation may change: the transition's states, in-flight ones only once their
 * lease expired by the clock leases are written with (the database's, on Postgres).
 */
function waitingOrphan(transition: OrphanTransition, leaseNow: number | RawBuilder<number>): DeliveryFilter {
  const settled = statesFrom(transition).filter((state) => state !== 'in_flight');
  return (eb) =>
    eb.or([
      eb('state', 'in', settled),
      ...(allows(transition, 'in_flight') ? [eb.and([eb('state', '=', 'in_flight'), eb('leaseUntilMs', '<', leaseNow)])] : []),
    ]);
}

/** The next `limit` waiting deliveries of a destination no longer configured, on deliveries_due_idx. */
export function orphanPage(
  db: Queryable,
  destinationId: string,
  transition: OrphanTransition,
  leaseNow: number | RawBuilder<number>,
  where?: DeliveryFilter,
  limit = CHUNK,
) {
  return db
    .selectFrom('deliveries')
    .select('id')
    .where('destinationId', '=', destinationId)
    .where(waitingOrphan(transition, leaseNow))
    .$if(where !== undefined, (q) => q.where(where!))
    .limit(limit);
}
