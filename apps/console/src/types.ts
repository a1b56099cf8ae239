// The admin API's answers, as the console reads them (see apps/runner/src/admin.ts).

export const DELIVERY_STATES = ['pending', 'in_flight', 'paused', 'delivered', 'skipped', 'dead'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface EventRow {
  id: string;
  type: string;
  kind: string | null;
  userId: string | null;
  environment: string;
  timestampMs: number;
  receivedAtMs: number;
}

export interface DeliveryRow {
  id: string;
  eventId: string;
  destinationId: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAtMs: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface DeliveryRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface EventView extends EventRow {
  webhook: unknown;
  deliveries: (DeliveryRow & {
    attemptLog: { number: number; startedAtMs: number; durationMs: number; status: number | null; outcome: string; error: string | null }[];
    requests?: DeliveryRequest[];
  })[];
}

export interface DestinationView {
  id: string;
  plugin: string;
  state: 'running' | 'paused';
  reason?: string;
  pausedBy?: 'operator' | 'credentials' | 'configuration';
  since?: number;
  inFlightRequests: number;
  deliveries: Record<DeliveryState, number>;
  oldestPendingAgeMs: number;
  settings: unknown;
}

export type DestinationPreview =
  | { destinationId: string; plugin: string; status: 'send'; requests: DeliveryRequest[]; warnings: string[] }
  | { destinationId: string; plugin: string; status: 'skip'; rule: string; reason: string }
  | { destinationId: string; plugin: string; status: 'paused'; missing: string[] };

export interface ReplayJob {
  id: string;
  state: 'running' | 'done' | 'failed';
  replayed: number;
  error?: string;
}

/** Today's replay answers with a count; the background replay answers with a job to follow. */
export type ReplayAnswer = { replayed: number } | { job: ReplayJob };
