import type { DeliveryState } from '../delivery-states';
import type { DeliveryRow, EventDetail, EventRow } from './records';

/** The event log: what the admin API, the console, metrics and alerts read. Reads only. */

export interface ListFilter {
  readonly state?: DeliveryState;
  readonly destinationId?: string;
  readonly userId?: string;
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

export interface EventLog {
  listEvents(filter: ListFilter): Promise<EventRow[]>;
  listDeliveries(filter: ListFilter): Promise<DeliveryRow[]>;
  getEvent(id: string): Promise<EventDetail | undefined>;
  stats(nowMs: number): Promise<StoreStats>;
}
