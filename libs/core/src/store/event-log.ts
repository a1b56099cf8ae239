import type { DeliveryState } from '../delivery-states';
import type { EventKind } from '../event';
import { StoreInputError, type DeliveryRow, type EventDetail, type EventRow } from './records';

/** The event log: what the admin API, the console, metrics and alerts read. Reads only. */

export interface ListFilter {
  /** The source instance that received the event (`events.source`). */
  readonly source?: string;
  readonly state?: DeliveryState;
  readonly destinationId?: string;
  readonly userId?: string;
  /** App user ids starting with this (compared as Unicode code points: `%` and `_` are plain characters). */
  readonly userPrefix?: string;
  readonly productId?: string;
  readonly kind?: EventKind;
  readonly type?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly limit?: number;
  /** Keyset pagination: ids are returned newest first, strictly before this cursor. */
  readonly before?: string;
}

export interface StoreStats {
  /** Count per destination and state. */
  readonly deliveries: readonly { readonly destinationId: string; readonly state: DeliveryState; readonly count: number }[];
  /** Age of the oldest due pending delivery per destination (0 when none). */
  readonly oldestPendingAgeMs: readonly { readonly destinationId: string; readonly ageMs: number }[];
  readonly events: number;
}

/** How many events one source's webhooks stored. */
export interface SourceCount {
  readonly source: string;
  readonly count: number;
}

/** Rows a listing answers without a `limit`, and the most it answers with one. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** How many rows a listing asked for `limit` answers: at least one, at most MAX_PAGE_SIZE. */
export function pageSize(limit: number | undefined): number {
  const wanted = limit !== undefined && Number.isFinite(limit) ? Math.floor(limit) : DEFAULT_PAGE_SIZE;
  return Math.min(Math.max(wanted, 1), MAX_PAGE_SIZE);
}

/** A listing's `before` names no row: the operator's mistake, answered as such. */
export function unknownCursor(kind: 'event' | 'delivery' | 'erasure job', id: string): StoreInputError {
  return new StoreInputError(`no ${kind} with id ${JSON.stringify(id)}`, 'before');
}

/** A stored event as a customer's history shows it: its row, the webhook body and the order the store received it in. */
export interface HistoryEvent extends EventRow {
  readonly body: string;
  readonly receivedSeq: number;
}

/** A customer's events (`EventLog.userHistory`). */
export interface UserHistory {
  /** Oldest first, by event time, then the order received. */
  readonly events: readonly HistoryEvent[];
  /** The customer has more events than these, older ones. */
  readonly truncated: boolean;
}

export interface EventLog {
  listEvents(filter: ListFilter): Promise<EventRow[]>;
  listDeliveries(filter: ListFilter): Promise<DeliveryRow[]>;
  /** Every delivery of these events (at most MAX_PAGE_SIZE ids at a time is cheap: one read by event id), by event then destination. */
  deliveriesOf(eventIds: readonly string[]): Promise<DeliveryRow[]>;
  /**
   * The `limit` newest (by event time, then the order received) events naming `userId` in any of their user ids,
   * as erasure finds them (app user id, original app user id, aliases, transfers), returned oldest first.
   */
  userHistory(userId: string, limit: number): Promise<UserHistory>;
  getEvent(id: string): Promise<EventDetail | undefined>;
  stats(nowMs: number): Promise<StoreStats>;
  /** Stored events per source, by source id; a source with none is absent. Cheap on any number of events. */
  countBySource(): Promise<SourceCount[]>;
}
