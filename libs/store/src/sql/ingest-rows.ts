import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import { erasureIdsOf, newDeliveryFields, storedEventOf, type IngestEvent, type NewDelivery } from '@ferry/core';
import type { DeliveriesTable, EventsTable, EventUsersTable } from '../database';
import { userKey } from '../user-key';

/** A column's type in Postgres: what its array of values is cast to when a group commit passes its rows as arrays. */
type PgType = 'text' | 'bigint' | 'int';

/**
 * The rows one ingested event makes, column by column (with each column's Postgres type): its own, one per
 * planned delivery, and one per user id it is erased by. The one definition both dialects write their ingest
 * INSERTs from, each its fastest way (SQLite: prepared single-row statements; Postgres: one statement of
 * unnested arrays). `receivedSeq` is each dialect's own: counted on from the highest on SQLite, drawn from a
 * sequence on Postgres. The types check that every column of each table is here.
 */
export const INGEST_COLUMNS = {
  events: {
    id: 'text',
    source: 'text',
    type: 'text',
    kind: 'text',
    userId: 'text',
    productId: 'text',
    environment: 'text',
    timestampMs: 'bigint',
    receivedAtMs: 'bigint',
    body: 'text',
  },
  deliveries: {
    id: 'text',
    eventId: 'text',
    destinationId: 'text',
    state: 'text',
    attempts: 'int',
    nextAttemptAtMs: 'bigint',
    leaseUntilMs: 'bigint',
    leaseOwner: 'text',
    windowStartMs: 'bigint',
    interruptions: 'int',
    lastStatus: 'int',
    lastError: 'text',
    deliveredAtMs: 'bigint',
    createdAtMs: 'bigint',
    updatedAtMs: 'bigint',
  },
  eventUsers: { userKey: 'text', eventId: 'text' },
} as const satisfies {
  readonly events: Record<keyof Omit<EventsTable, 'receivedSeq'>, PgType>;
  readonly deliveries: Record<keyof DeliveriesTable, PgType>;
  readonly eventUsers: Record<keyof EventUsersTable, PgType>;
};

export type IngestTable = keyof typeof INGEST_COLUMNS;

/** The row of an event received at `receivedAtMs` (but its `receivedSeq`). */
export function eventValues(event: IngestEvent, receivedAtMs: number): Omit<EventsTable, 'receivedSeq'> {
  return storedEventOf(event, receivedAtMs);
}

export function newDeliveryValues(eventId: string, delivery: NewDelivery, nowMs: number): DeliveriesTable {
  return { id: timeOrderedId(nowMs), eventId, ...newDeliveryFields(delivery, nowMs) };
}

/** The event_users rows of an event: one per user id it can be erased by. */
export function eventUserValues(event: IngestEvent): EventUsersTable[] {
  return erasureIdsOf(event).map((id) => ({ userKey: userKey(id), eventId: event.id }));
}

/** A column's name in SQL (`CamelCasePlugin` maps the rest of the store's queries the same way). */
export function columnName(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The SQL names of a table's columns, in their order here, with `extra` fields after them. */
export function columnNames(table: IngestTable, extra: readonly string[] = []): string[] {
  return [...Object.keys(INGEST_COLUMNS[table]), ...extra].map(columnName);
}

/** Postgres: one typed array of values per column of `table` (and `extra` columns), in the order of `columnNames`. */
export function columnArrays<Row extends object>(
  table: IngestTable,
  rows: readonly Row[],
  extra: Readonly<Record<string, PgType>> = {},
): RawBuilder<unknown> {
  const types: Record<string, PgType> = { ...INGEST_COLUMNS[table], ...extra };
  return sql.join(
    Object.entries(types).map(([field, type]) => sql`${rows.map((row) => (row as Record<string, unknown>)[field])}::${sql.raw(type)}[]`),
  );
}

/**
 * A UUID version 7: the time first, so new deliveries are added at the end of the primary key's index (a few
 * pages written per commit) rather than on random pages all over it.
 */
function timeOrderedId(nowMs: number): string {
  const time = nowMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}
