import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import {
  pageSize,
  statesFrom,
  unknownCursor,
  type AttemptRow,
  type DeliveryRow,
  type EventDetail,
  type EventLog,
  type EventRow,
  type HistoryEvent,
  type ListFilter,
  type UserHistory,
  type SourceCount,
  type StoreStats,
} from '@ferry/core';
import type { Database } from '../database';
import { userKey } from '../user-key';
import { chunks, type Queryable, type SqlContext, type TextOrder } from './context';

const EVENT_COLUMNS = ['id', 'source', 'type', 'kind', 'userId', 'productId', 'environment', 'timestampMs', 'receivedAtMs'] as const;
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
    return eventListing(this.context.db, filter, cursor, this.context.dialect.codePointText).execute();
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
      .$if(filtersEvents(filter), (q) =>
        q.where('eventId', 'in', (eb) =>
          eb
            .selectFrom('events')
            .select('id')
            .where((events) => eventFilter(events, filter, this.context.dialect.codePointText)),
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

  async deliveriesOf(eventIds: readonly string[]): Promise<DeliveryRow[]> {
    const rows: DeliveryRow[] = [];
    for (const ids of chunks([...new Set(eventIds)])) {
      // Found on the unique (event, destination) index, in its order.
      rows.push(...(await this.context.db.selectFrom('deliveries').select(DELIVERY_COLUMNS).where('eventId', 'in', ids).execute()));
    }
    return rows.sort((a, b) => byText(a.eventId, b.eventId) || byText(a.destinationId, b.destinationId));
  }

  async userHistory(userId: string, limit: number): Promise<UserHistory> {
    const rows: HistoryEvent[] = await this.context.db
      .selectFrom('eventUsers')
      .innerJoin('events', 'events.id', 'eventUsers.eventId')
      .select([...EVENT_COLUMNS.map((column) => `events.${column}` as const), 'events.body', 'events.receivedSeq'])
      .where('eventUsers.userKey', '=', userKey(userId))
      .orderBy('events.timestampMs', 'desc')
      .orderBy('events.receivedSeq', 'desc')
      .limit(limit + 1)
      .execute();
    const events = rows.slice(0, limit).map((row) => ({ ...row, receivedSeq: Number(row.receivedSeq) }));
    return { events: events.reverse(), truncated: rows.length > limit };
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
export function eventListing(
  db: Queryable,
  filter: ListFilter,
  cursor: { id: string; atMs: number } | undefined,
  codePointText: TextOrder,
) {
  return db
    .selectFrom('events')
    .select(EVENT_COLUMNS)
    .$if(filtersEvents(filter), (q) => q.where((eb) => eventFilter(eb, filter, codePointText)))
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

/** Whether the filter asks anything of the events themselves (`eventFilter`), beyond their deliveries and times. */
function filtersEvents(filter: ListFilter): boolean {
  const { source, userId, userPrefix, productId, kind, type } = filter;
  return [source, userId, userPrefix, productId, kind, type].some((value) => value !== undefined);
}

/**
 * What a filter asks of an event itself, one reading for both listings (the deliveries' through their events), so
 * the two agree; times are each listing's own (events by receipt, deliveries by creation). A user prefix is a range, `[prefix, its successor)`: SQLite walks it on events_user_idx.
 */
function eventFilter(eb: ExpressionBuilder<Database, 'events'>, filter: ListFilter, codePointText: TextOrder): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  if (filter.source !== undefined) conditions.push(eb('events.source', '=', filter.source));
  if (filter.userId !== undefined) conditions.push(eb('events.userId', '=', filter.userId));
  if (filter.userPrefix !== undefined) {
    const userId = codePointText('events.userId');
    conditions.push(eb(userId, '>=', filter.userPrefix));
    const end = prefixEnd(filter.userPrefix);
    if (end !== undefined) conditions.push(eb(userId, '<', end));
  }
  if (filter.productId !== undefined) conditions.push(eb('events.productId', '=', filter.productId));
  if (filter.kind !== undefined) conditions.push(eb('events.kind', '=', filter.kind));
  if (filter.type !== undefined) conditions.push(eb('events.type', '=', filter.type));
  return eb.and(conditions);
}

/**
 * The least text after every text starting with `prefix`, in code point order (UTF-8's byte order): the prefix
 * with its last code point one up (past the surrogates, which UTF-8 cannot hold). Undefined when nothing
 * follows (the prefix is all U+10FFFF): then every text from the prefix on starts with it.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix].map((character) => character.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) return String.fromCodePoint(...points, last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
