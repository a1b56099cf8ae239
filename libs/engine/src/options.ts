import { DEFAULT_RETRY_POLICY, STORED_PAUSE_CAUSES, type OutcomeType, type RetryPolicy } from '@ferry/core';

/**
 * Why a destination does not send: its config lacks something (this runner's own verdict), or a pause
 * kept in the store for every runner (an operator's, or refused credentials).
 */
export const PAUSE_CAUSES = ['configuration', ...STORED_PAUSE_CAUSES] as const;
export type PauseCause = (typeof PAUSE_CAUSES)[number];

/** Destination health as shown by the admin API and metrics. */
export interface DestinationStatus {
  readonly destinationId: string;
  readonly plugin: string;
  readonly state: 'running' | 'paused';
  /** Why it is paused. */
  readonly pausedBy?: PauseCause;
  readonly reason?: string;
  /** When it paused, in ms since the epoch. */
  readonly since?: number;
  readonly inFlightRequests: number;
}

/** Hooks the runner uses for metrics and alerts; all optional, called synchronously, so they must not block. */
export interface EngineObserver {
  /** One call per request and outcome type: how many of its deliveries got that outcome. */
  attempt?(destinationId: string, outcome: OutcomeType, deliveries: number, durationMs: number): void;
  statusChanged?(status: DestinationStatus): void;
  /** Deliveries of one batch went dead (stored as such); `firstError` is the first one's error, secrets already out. */
  deliveriesDead?(destinationId: string, count: number, firstError: string | null): void;
}

/** Several observers as one: each hears every call, in order. */
export function combineObservers(...observers: readonly EngineObserver[]): EngineObserver {
  return {
    attempt: (...args) => observers.forEach((observer) => observer.attempt?.(...args)),
    statusChanged: (...args) => observers.forEach((observer) => observer.statusChanged?.(...args)),
    deliveriesDead: (...args) => observers.forEach((observer) => observer.deliveriesDead?.(...args)),
  };
}

export interface DispatcherOptions {
  /** Lease owner (the runner's id). */
  readonly ownerId: string;
  /** How long a lease lasts; a batch still being sent renews its leases every third of this. */
  readonly leaseMs: number;
  /** Most bytes of webhook bodies one batch leases (at least one delivery), so huge webhooks cannot exhaust the heap. */
  readonly batchMaxBytes: number;
  /** How long a partial batch waits for more deliveries before it is sent. */
  readonly lingerMs: number;
  /** How often an idle destination looks for due retries (sooner when the next one is due sooner). */
  readonly pollMs: number;
  /** How often a destination paused by refused credentials is probed with one delivery (by each runner). */
  readonly pausedProbeMs: number;
  readonly retryPolicy: RetryPolicy;
}

/**
 * A request starts only while its batch's lease outlasts the request's timeout, renewing the lease first
 * when it would not: so a lease must outlast a request by half again, the room for renewing it in time.
 */
export const LEASE_PER_TIMEOUT = 1.5;

export const DEFAULT_DISPATCHER_OPTIONS: Omit<DispatcherOptions, 'ownerId'> = {
  leaseMs: 60_000,
  batchMaxBytes: 4 * 1_048_576,
  lingerMs: 25,
  pollMs: 500,
  pausedProbeMs: 30_000,
  retryPolicy: DEFAULT_RETRY_POLICY,
};
