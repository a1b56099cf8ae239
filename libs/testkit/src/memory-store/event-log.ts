import {
  allows,
  pageSize,
  unknownCursor,
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
import type { MemoryConnection, MemoryDelivery } from './database';

/** The event log in memory: listings in the SQL stores' keyset order, and counts by a full walk. */
export class MemoryEventLog implements EventLog {
  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  async listEvents(filter: ListFilter): Promise<EventRow[]> {
    const cursor = filter.before === undefined ? undefined : this.cursor('event', filter.before);
    return [...this.database.events.values()]
      .filter(
        (event) =>
          matchesEvent(event, filter) &&
          (filter.sinceMs === undefined || event.receivedAtMs >= filter.sinceMs) &&
          (filter.untilMs === undefined || event.receivedAtMs < filter.untilMs) &&
          ((filter.state === undefined && filter.destinationId === undefined) ||
            this.database
              .rows(filter.destinationId)
              .some((d) => d.eventId === event.id && (filter.state === undefined || d.state === filter.state))),
      )
      .map(({ body: _body, ...row }) => ({ ...row, atMs: row.receivedAtMs }))
      .filter((row) => cursor === undefined || before(row, cursor))
      .sort(newestFirst)
      .slice(0, pageSize(filter.limit))
      .map(({ atMs: _atMs, ...row }) => row);
  }

  async listDeliveries(filter: ListFilter): Promise<DeliveryRow[]> {
    const cursor = filter.before === undefined ? undefined : this.cursor('delivery', filter.before);
    return this.database
      .rows(filter.destinationId)
      .filter((row) => {
        const event = this.database.events.get(row.eventId)!;
        return (
          (filter.state === undefined || row.state === filter.state) &&
          (filter.sinceMs === undefined || row.createdAtMs >= filter.sinceMs) &&
          (filter.untilMs === undefined || row.createdAtMs < filter.untilMs) &&
          matchesEvent(event, filter)
        );
      })
      .map((row) => ({ ...deliveryRow(row), atMs: row.createdAtMs }))
      .filter((row) => cursor === undefined || before(row, cursor))
      .sort(newestFirst)
      .slice(0, pageSize(filter.limit))
      .map(({ atMs: _atMs, ...row }) => row);
  }

  async deliveriesOf(eventIds: readonly string[]): Promise<DeliveryRow[]> {
    const ids = new Set(eventIds);
    return this.database
      .rows()
      .filter((row) => ids.has(row.eventId))
      .map(deliveryRow)
      .sort((a, b) => byText(a.eventId, b.eventId) || byText(a.destinationId, b.destinationId));
  }

  async userHistory(userId: string, limit: number): Promise<UserHistory> {
    const naming: HistoryEvent[] = [...this.database.events.values()]
      .filter((event) => this.database.eventUsers.get(event.id)?.has(userId))
      .map((event) => ({ ...event, receivedSeq: this.database.receivedSeqs.get(event.id)! }))
      .sort((a, b) => a.timestampMs - b.timestampMs || a.receivedSeq - b.receivedSeq);
    return { events: naming.slice(Math.max(naming.length - limit, 0)), truncated: naming.length > limit };
  }

  async getEvent(id: string): Promise<EventDetail | undefined> {
    const event = this.database.events.get(id);
    if (!event) return undefined;
    const deliveries = this.database
      .rows()
      .filter((row) => row.eventId === id)
      .sort((a, b) => a.destinationId.localeCompare(b.destinationId))
      .map((row) => ({ ...deliveryRow(row), attemptLog: row.attemptLog }));
    return { ...event, deliveries };
  }

  async stats(nowMs: number): Promise<StoreStats> {
    const counts = new Map<string, { destinationId: string; state: DeliveryRow['state']; count: number }>();
    const dueAt = new Map<string, number>();
    for (const row of this.database.rows()) {
      const key = `${row.destinationId}\u0000${row.state}`;
      const entry = counts.get(key) ?? { destinationId: row.destinationId, state: row.state, count: 0 };
      counts.set(key, { ...entry, count: entry.count + 1 });
      if (allows('lease', row.state) && row.nextAttemptAtMs !== null && row.nextAttemptAtMs <= nowMs) {
        dueAt.set(row.destinationId, Math.min(dueAt.get(row.destinationId) ?? Infinity, row.nextAttemptAtMs));
      }
    }
    const deliveries = [...counts.values()].sort(
      (a, b) => a.destinationId.localeCompare(b.destinationId) || a.state.localeCompare(b.state),
    );
    return {
      deliveries,
      oldestPendingAgeMs: [...new Set(deliveries.map((row) => row.destinationId))].map((destinationId) => {
        const due = dueAt.get(destinationId);
        return { destinationId, ageMs: due === undefined ? 0 : nowMs - due };
      }),
      events: this.database.events.size,
    };
  }

  async countBySource(): Promise<SourceCount[]> {
    const counts = new Map<string, number>();
    for (const event of this.database.events.values()) counts.set(event.source, (counts.get(event.source) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([source, count]) => ({ source, count }));
  }

  private cursor(table: 'event' | 'delivery', id: string): { id: string; atMs: number } {
    const atMs = table === 'event' ? this.database.events.get(id)?.receivedAtMs : this.database.deliveries.get(id)?.createdAtMs;
    if (atMs === undefined) throw unknownCursor(table, id);
    return { id, atMs };
  }
}

/** What a filter asks of an event itself, as the SQL stores read it (a user prefix by code point: `%` and `_` are plain). */
function matchesEvent(event: EventRow, filter: ListFilter): boolean {
  return (
    (filter.source === undefined || event.source === filter.source) &&
    (filter.userId === undefined || event.userId === filter.userId) &&
    (filter.userPrefix === undefined || (event.userId !== null && event.userId.startsWith(filter.userPrefix))) &&
    (filter.productId === undefined || event.productId === filter.productId) &&
    (filter.kind === undefined || event.kind === filter.kind) &&
    (filter.type === undefined || event.type === filter.type)
  );
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function deliveryRow(row: MemoryDelivery): DeliveryRow {
  const { windowStartMs: _window, leaseOwner: _owner, interruptions: _interruptions, attemptLog: _log, ...delivery } = row;
  return delivery;
}

/** Keyset order and cursor, as in the SQL stores: (time, id) descending. */
function newestFirst(a: { atMs: number; id: string }, b: { atMs: number; id: string }): number {
  return b.atMs - a.atMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function before(row: { atMs: number; id: string }, cursor: { atMs: number; id: string }): boolean {
  return row.atMs < cursor.atMs || (row.atMs === cursor.atMs && row.id < cursor.id);
}
