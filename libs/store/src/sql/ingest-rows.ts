import { randomUUID } from 'node:crypto';
import { erasureIdsOf, type IngestEvent, type NewDelivery } from '@ferry/core';
import type { DeliveriesTable } from '../database';
import { userKey } from '../user-key';

/** The rows one ingested event makes: its own, one per planned delivery, and one per user id it is erased by. */

export function eventValues(event: IngestEvent) {
  const { id, source, type, kind, userId, environment, timestampMs, body } = event;
  return { id, source, type, kind, userId, environment, timestampMs, body };
}

export function newDeliveryValues(eventId: string, delivery: NewDelivery, nowMs: number): DeliveriesTable {
  return {
    id: timeOrderedId(nowMs),
    eventId,
    destinationId: delivery.destinationId,
    state: delivery.state,
    attempts: 0,
    // Skipped is final; paused ones fall due when their destination resumes.
    nextAttemptAtMs: delivery.state === 'skipped' ? null : nowMs,
    leaseUntilMs: null,
    leaseOwner: null,
    windowStartMs: nowMs,
    interruptions: 0,
    lastStatus: null,
    lastError: delivery.reason ?? null,
    deliveredAtMs: null,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
}

/**
 * A UUID version 7: the time first, so new deliveries are added at the end of the primary key's index (a few
 * pages written per commit) rather than on random pages all over it.
 */
function timeOrderedId(nowMs: number): string {
  const time = nowMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

/** The event_users rows of an event: one per user id it can be erased by. */
export function eventUserValues(event: IngestEvent) {
  return erasureIdsOf(event).map((id) => ({ userKey: userKey(id), eventId: event.id }));
}
