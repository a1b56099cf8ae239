import type { DeliveryState, Environment, ErasureJobState, EventKind, OutcomeType, StoredPauseCause } from '@ferry/core';

/**
 * The tables as Kysely sees them. Columns are snake_case in SQL; `CamelCasePlugin` maps them to these
 * camelCase names, which match the field names of the core `Store` rows, so rows need no mapping.
 * Every time is milliseconds since the epoch (BIGINT in Postgres).
 */
export interface Database {
  events: EventsTable;
  deliveries: DeliveriesTable;
  attempts: AttemptsTable;
  subscriptionStateMarks: SubscriptionStateMarksTable;
  profileStateMarks: ProfileStateMarksTable;
  profileStateUsers: ProfileStateUsersTable;
  destinationPauses: DestinationPausesTable;
  alertClaims: AlertClaimsTable;
  alertOutbox: AlertOutboxTable;
  deliveryCounts: DeliveryCountsTable;
  eventCounts: EventCountsTable;
  eventUsers: EventUsersTable;
  erasureJobs: ErasureJobsTable;
  ferryMigrations: MigrationsTable;
}

export interface EventsTable {
  id: string;
  source: string;
  type: string;
  kind: EventKind | null;
  userId: string | null;
  /** Null for events stored before migration 13. */
  productId: string | null;
  environment: Environment;
  timestampMs: number;
  receivedAtMs: number;
  /** The order events were received in, across every runner on the database: ties of `receivedAtMs` keep it too. */
  receivedSeq: number;
  body: string;
}

export interface DeliveriesTable {
  id: string;
  eventId: string;
  destinationId: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAtMs: number | null;
  leaseUntilMs: number | null;
  leaseOwner: string | null;
  windowStartMs: number;
  /** Attempts in a row its runner stopped during (lease taken over or released after a crash). */
  interruptions: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface AttemptsTable {
  deliveryId: string;
  number: number;
  startedAtMs: number;
  durationMs: number;
  status: number | null;
  outcome: OutcomeType;
  error: string | null;
}

/**
 * Per destination and app user id, the newest event whose state was claimed: the ordering guard before
 * migration 10. No longer written (older runners may, during a rolling upgrade); it seeds a profile first seen
 * since, and erasure removes the customer's rows.
 */
export interface SubscriptionStateMarksTable {
  destinationId: string;
  userId: string;
  timestampMs: number;
  receivedSeq: number;
}

/**
 * Per destination and profile (SHA-256 of `stateProfileOf`), the ordering guard (SPEC §12): the newest state
 * the destination accepted (none yet: null), and the delivery holding the profile's claim, with its event's order.
 */
export interface ProfileStateMarksTable {
  destinationId: string;
  profileKey: string;
  acceptedTimestampMs: number | null;
  acceptedReceivedSeq: number | null;
  claimDeliveryId: string | null;
  claimTimestampMs: number | null;
  claimReceivedSeq: number | null;
}

/** Which user keys' events reached each profile: erasure's way to its marks, after retention removed the events. */
export interface ProfileStateUsersTable {
  destinationId: string;
  profileKey: string;
  userKey: string;
}

/** Every user id an event names, as a SHA-256 key (fixed size, whatever the id's length): erasure's index. */
export interface EventUsersTable {
  userKey: string;
  eventId: string;
}

export interface DestinationPausesTable {
  destinationId: string;
  cause: StoredPauseCause;
  reason: string;
  sinceMs: number;
  setBy: string;
}

/** One row per alert raised: the key a runner claimed before sending it (so no other runner sends it too). */
export interface AlertClaimsTable {
  key: string;
  claimedAtMs: number;
}

/** One row per alert and target not done with it yet, held by the runner sending it (migration 9). */
export interface AlertOutboxTable {
  key: string;
  target: number;
  /** The alert as JSON text. */
  alert: string;
  claimedAtMs: number;
  /** The runner sending it; null once released (at a stop), for the next to take. */
  owner: string | null;
  leaseUntilMs: number | null;
}

/**
 * Deliveries per destination and state, kept by triggers (migration 6). The count is the sum over slots:
 * SQLite keeps slot 0 only; Postgres adds each connection's changes to its own slot, folded into 0 later.
 */
export interface DeliveryCountsTable {
  destinationId: string;
  state: DeliveryState;
  slot: number;
  count: number;
}

/** Stored events, kept by triggers as `DeliveryCountsTable` is. */
export interface EventCountsTable {
  slot: number;
  count: number;
}

/** One row per erasure at one destination (migration 12): see `ErasureJob`. */
export interface ErasureJobsTable {
  id: string;
  destinationId: string;
  state: ErasureJobState;
  /** The `ErasureSubject` as JSON text; null once done. */
  subject: string | null;
  identityCount: number;
  attempts: number;
  nextStep: number;
  steps: number;
  nextAttemptAtMs: number | null;
  lastAnswer: string | null;
  windowStartMs: number;
  /** The runner working it, while its lease lasts. */
  owner: string | null;
  leaseUntilMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface MigrationsTable {
  version: number;
  name: string;
  appliedAtMs: number;
}
