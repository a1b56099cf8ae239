import { sql } from 'kysely';
import {
  pageSize,
  statesFrom,
  unknownCursor,
  type AttemptRow,
  type DeliveryRow,
  type EventDetail,
  type EventLog,
  type EventRow,
  type ListFilter,
  type SourceCount,
  type StoreStats,
} from '@ferry/core';
import type { Queryable, SqlContext } from './context';

const EVENT_COLUMNS = ['id', 'source', 'type', 'kind', 'userId', 'environment', 'timestampMs', 'receivedAtMs'] as const;
const DELIVERY_COLUMNS = [
  'id',
  'eventId',
  'destinationId',
  'state',
  'attempts',
  'nextAttemptAtMs',
  'leaseUntilMs',
  'lastStatus',
  'lastError',
  'deliveredAtMs',
  'createdAtMs',
  'updatedAtMs',
] as const;

/** The event log on SQL: keyset-paged listings, one event in full, and the counts the triggers keep. */
export class SqlEventLog implements EventLog {
  constructor(private readonly context: SqlContext) {}

  async listEvents(filter: ListFilter): Promise<EventRow[]> {
    const cursor = filter.before === undefined ? undefined : await this.cursor('events', filter.before);
    return eventListing(this.context.db, filter, cursor).execute();
  }

  async listDeliveries(filter: ListFilter): Promise<DeliveryRow[]> {
    const cursor = filter.before === undefined ? undefined : await this.cursor('deliveries', filter.before);
    return this.context.db
      .selectFrom('deliveries')
      .select(DELIVERY_COLUMNS)
      .$if(filter.state !== undefined, (q) => q.where('state', '=', filter.state!))
      .$if(filter.destinationId !== undefined, (q) => q.where('destinationId', '=', filter.destinationId!))
      .$if(filter.sinceMs !== undefined, (q) => q.where('createdAtMs', '>=', filter.sinceMs!))
      .$if(filter.untilMs !== undefined, (q) => q.where('createdAtMs', '<', filter.untilMs!))
      .$if(filter.source !== undefined || filter.userId !== undefined || filter.type !== undefined, (q) =>
        q.where('eventId', 'in', (eb) =>
          eb
            .selectFrom('events')
            .select('id')
            .$if(filter.source !== undefined, (s) => s.where('source', '=', filter.source!))
            .$if(filter.userId !== undefined, (s) => s.where('userId', '=', filter.userId!))
            .$if(filter.type !== undefined, (s) => s.where('type', '=', filter.type!)),
        ),
      )
      .$if(cursor !== undefined, (q) =>
        q.where(({ eb, refTuple, tuple }) => eb(refTuple('createdAtMs', 'id'), '<', tuple(cursor!.atMs, cursor!.id))),
      )
      .orderBy('createdAtMs', 'desc')
      .orderBy('id', 'desc')
      .limit(pageSize(filter.limit))
      .execute();
  }

  /** Where a keyset page starts: the row named by `before`, which must exist. */
  private async cursor(table: 'events' | 'deliveries', id: string): Promise<{ id: string; atMs: number }> {
    const { db } = this.context;
    const row =
      table === 'events'
        ? await db.selectFrom('events').select('receivedAtMs as atMs').where('id', '=', id).executeTakeFirst()
        : await db.selectFrom('deliveries').select('createdAtMs as atMs').where('id', '=', id).executeTakeFirst();
    if (!row) throw unknownCursor(table === 'events' ? 'event' : 'delivery', id);
    return { id, atMs: row.atMs };
  }

  async getEvent(id: string): Promise<EventDetail | undefined> {
    const { db } = this.context;
    const event = await db
      .selectFrom('events')
      .select([...EVENT_COLUMNS, 'body'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!event) return undefined;
    const deliveries = await db
      .selectFrom('deliveries')
      .select(DELIVERY_COLUMNS)
      .where('eventId', '=', id)
      .orderBy('destinationId')
      .execute();
    const attempts: AttemptRow[] = await db
      .selectFrom('attempts')
      .selectAll()
      .where('deliveryId', 'in', (eb) => eb.selectFrom('deliveries').select('id').where('eventId', '=', id))
      .orderBy('deliveryId')
      .orderBy('number')
      .execute();
    return {
      ...event,
      deliveries: deliveries.map((d) => ({ ...d, attemptLog: attempts.filter((a) => a.deliveryId === d.id) })),
    };
  }

  /**
   * Reads the counters the triggers keep (O(destinations × states) rows, however many deliveries are
   * stored) and each destination's oldest due delivery from the front of deliveries_due_idx.
   */
  async stats(nowMs: number): Promise<StoreStats> {
    const { db } = this.context;
    await this.context.foldCounts();
    const deliveries = await db
      .selectFrom('deliveryCounts')
      .select(['destinationId', 'state', sql<number>`cast(sum(count) as bigint)`.as('count')])
      .groupBy(['destinationId', 'state'])
      .having(sql<number>`sum(count)`, '>', 0)
      .orderBy('destinationId')
      .orderBy('state')
      .execute();
    const destinationIds = [...new Set(deliveries.map((row) => row.destinationId))];
    const oldestPendingAgeMs = await Promise.all(
      destinationIds.map(async (destinationId) => {
        const oldest = await oldestDue(db, destinationId, nowMs).executeTakeFirst();
        // How long the oldest due delivery has been waiting for a dispatcher: the backlog's age.
        return { destinationId, ageMs: oldest?.nextAttemptAtMs == null ? 0 : nowMs - oldest.nextAttemptAtMs };
      }),
    );
    const events = await db
      .selectFrom('eventCounts')
      .select(sql<number>`cast(coalesce(sum(count), 0) as bigint)`.as('count'))
      .executeTakeFirstOrThrow();
    return {
      deliveries: deliveries.map((row) => ({ ...row, count: Number(row.count) })),
      oldestPendingAgeMs,
      events: Number(events.count),
    };
  }

  async countBySource(): Promise<SourceCount[]> {
    const rows = await sourceCounts(this.context.db).execute();
    return rows.map((row) => ({ source: row.source, count: Number(row.count) }));
  }
}

/** Stored events per source: one pass over events_source_idx, never the events' rows. */
export function sourceCounts(db: Queryable) {
  return db
    .selectFrom('events')
    .select(['source', sql<number>`count(*)`.as('count')])
    .groupBy('source')
    .orderBy('source');
}

/** One page of the events listing, newest first, from the keyset cursor (the row `before` names) on. */
export function eventListing(db: Queryable, filter: ListFilter, cursor: { id: string; atMs: number } | undefined) {
  return db
    .selectFrom('events')
    .select(EVENT_COLUMNS)
    .$if(filter.source !== undefined, (q) => q.where('source', '=', filter.source!))
    .$if(filter.userId !== undefined, (q) => q.where('userId', '=', filter.userId!))
    .$if(filter.type !== undefined, (q) => q.where('type', '=', filter.type!))
    .$if(filter.sinceMs !== undefined, (q) => q.where('receivedAtMs', '>=', filter.sinceMs!))
    .$if(filter.untilMs !== undefined, (q) => q.where('receivedAtMs', '<', filter.untilMs!))
    .$if(filter.state !== undefined || filter.destinationId !== undefined, (q) =>
      q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('deliveries')
            .select('deliveries.id')
            .whereRef('deliveries.eventId', '=', 'events.id')
            .$if(filter.state !== undefined, (s) => s.where('deliveries.state', '=', filter.state!))
            .$if(filter.destinationId !== undefined, (s) => s.where('deliveries.destinationId', '=', filter.destinationId!)),
        ),
      ),
    )
    .$if(cursor !== undefined, (q) =>
      q.where(({ eb, refTuple, tuple }) => eb(refTuple('receivedAtMs', 'id'), '<', tuple(cursor!.atMs, cursor!.id))),
    )
    .orderBy('receivedAtMs', 'desc')
    .orderBy('id', 'desc')
    .limit(pageSize(filter.limit));
}

/** A destination's oldest due pending delivery: the first entry of its range on deliveries_due_idx, however long the backlog. */
export function oldestDue(db: Queryable, destinationId: string, nowMs: number) {
  return db
    .selectFrom('deliveries')
    .select('nextAttemptAtMs')
    .where('destinationId', '=', destinationId)
    .where('state', 'in', statesFrom('lease'))
    .where('nextAttemptAtMs', '<=', nowMs)
    .orderBy('nextAttemptAtMs')
    .limit(1);
}
