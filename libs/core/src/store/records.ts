import type { Environment, EventKind, SubscriptionEvent } from '../event';
import type { OutcomeType } from '../plugin';
import type { DeliveryState } from '../delivery-states';

/**
 * What the store keeps, as every port shows it, and the errors every port throws. All times are milliseconds
 * since the epoch.
 */

/** Longest event id, event type or user id a store keeps: they are indexed, and an index entry has a size limit. */
export const MAX_ID_LENGTH = 512;

/** Largest magnitude of a JavaScript date in milliseconds; stores keep times as BIGINT milliseconds. */
export const MAX_EPOCH_MS = 8.64e15;

/** True for a whole number of milliseconds that is a date: what a store's time columns can keep. */
export function isEpochMs(value: number): boolean {
  return Number.isInteger(value) && Math.abs(value) <= MAX_EPOCH_MS;
}

/**
 * The store refused a value it was given (one its columns cannot hold, a cursor naming no row): the input
 * is at fault, so retrying cannot help. `field` names the input when the store knows it.
 */
export class StoreInputError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StoreInputError';
  }
}

/**
 * The store cannot do what was asked, for a reason of its own rather than of the input: its file was deleted
 * or replaced, it cannot commit (a full disk), a reader kept an erase from finishing. The message says what
 * happened and what the operator can do, and holds no user data or secret, so it may be shown as it is.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** An event as `ingest` takes it: the indexed fields of its row (the store adds when it arrived) and more. */
export interface IngestEvent extends Omit<EventRow, 'receivedAtMs'> {
  /** The webhook body as received (JSON text); the engine re-parses it to deliver. */
  readonly body: string;
  /**
   * Every user id the event names (app user id, original app user id, aliases, transfers): erasure finds
   * the event by any of them. `userId` alone when absent.
   */
  readonly userIds?: readonly string[];
}

/** What `ingest` keeps of a parsed event: its indexed fields, every user id it names and the webhook body as received. */
export function ingestEventOf(event: SubscriptionEvent, body: string): IngestEvent {
  const { id, source, type, kind, appUserId: userId, productId, environment, timestampMs } = event;
  return { id, source, type, kind, userId, productId, environment, timestampMs, body, userIds: userIdsOf(event) };
}

/** What a store keeps of an ingested event: its indexed fields and the webhook body (and, beside, `erasureIdsOf`). */
export function storedEventOf(event: IngestEvent, receivedAtMs: number): EventRow & { readonly body: string } {
  const { id, source, type, kind, userId, productId, environment, timestampMs, body } = event;
  return { id, source, type, kind, userId, productId, environment, timestampMs, receivedAtMs, body };
}

/** The user ids an event names, each once: the ids an erasure request may name it by. */
export function userIdsOf(event: SubscriptionEvent): string[] {
  const ids = [event.appUserId, event.originalAppUserId, ...event.aliases, ...event.transferredFrom, ...event.transferredTo];
  return [...new Set(ids.filter((id): id is string => typeof id === 'string' && id !== ''))];
}

/** The ids an ingested event is erased by: its `userIds`, else its `userId`. */
export function erasureIdsOf(event: IngestEvent): string[] {
  return [...new Set([...(event.userIds ?? []), ...(event.userId !== null && event.userId !== '' ? [event.userId] : [])])];
}

export interface AttemptRecord {
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly status: number | null;
  readonly outcome: OutcomeType;
  readonly error: string | null;
}

export interface DeliveryRow {
  readonly id: string;
  readonly eventId: string;
  readonly destinationId: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAttemptAtMs: number | null;
  readonly leaseUntilMs: number | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAtMs: number | null;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export interface EventRow {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly kind: EventKind | null;
  readonly userId: string | null;
  /** The product the event is about, as the source names it; null when it names none, or stored before migration 13. */
  readonly productId: string | null;
  readonly environment: Environment;
  readonly timestampMs: number;
  readonly receivedAtMs: number;
}

export interface AttemptRow extends AttemptRecord {
  readonly deliveryId: string;
  readonly number: number;
}

export interface EventDetail extends EventRow {
  readonly body: string;
  readonly deliveries: readonly (DeliveryRow & { readonly attemptLog: readonly AttemptRow[] })[];
}
