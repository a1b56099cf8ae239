import type { DeliveryState, Environment, EventKind, OutcomeType } from '@ferry/core';

/**
 * The tables as Kysely sees them. Columns are snake_case in SQL; `CamelCasePlugin` maps them to these
 * camelCase names, which match the field names of the core `Store` rows, so rows need no mapping.
 * Every time is milliseconds since the epoch (BIGINT in Postgres).
 */
export interface Database {
  events: EventsTable;
  deliveries: DeliveriesTable;
  attempts: AttemptsTable;
  ferryMigrations: MigrationsTable;
}

export interface EventsTable {
  id: string;
  source: string;
  type: string;
  kind: EventKind | null;
  userId: string | null;
  environment: Environment;
  timestampMs: number;
  receivedAtMs: number;
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

export interface MigrationsTable {
  version: number;
  name: string;
  appliedAtMs: number;
}
