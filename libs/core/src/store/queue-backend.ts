import type { DeliveryTransition } from '../delivery-states';
import type { DeliveryQueue } from './delivery-queue';
import type { AttemptRow } from './records';

/**
 * What a store implements for the delivery queue: everything but the lease policy, which the engine writes
 * once over these steps (how a lease takes over a stale one first, gives up on a delivery interrupted too
 * often, and stops at the byte cap; a release at start likewise).
 */
export interface QueueBackend extends Omit<DeliveryQueue, 'lease' | 'releaseLeases'> {
  /**
   * Runs `work` in one write transaction: the steps of one lease or release. `nowMs` is the caller's now;
   * the steps judge expiry and due times, and set lease times, by it on the lease clock (the database's on
   * Postgres, so runners with skewed clocks agree).
   */
  leasing<T>(nowMs: number, work: (steps: LeaseSteps) => Promise<T>): Promise<T>;
}

/** The transitions that take a delivery into flight: what a lease asks candidates for. */
export type LeaseTransition = Extract<DeliveryTransition, 'lease' | 'takeOver' | 'probe'>;

/** An in-flight delivery, as a takeover or a release finds it. */
export interface HeldDelivery {
  readonly id: string;
  readonly attempts: number;
  /** Interrupted attempts in a row so far (see `MAX_INTERRUPTIONS`). */
  readonly interruptions: number;
}

/** A delivery a lease may take: the size of its event's body, not the body (bodies are read for those taken only). */
export interface LeaseCandidate extends HeldDelivery {
  readonly eventId: string;
  readonly destinationId: string;
  /** Start of its retry window. */
  readonly windowStartMs: number;
  /** UTF-8 bytes of its event's webhook body. */
  readonly bytes: number;
}

/** A stored webhook body and the id of the source it came through. */
export interface StoredBody {
  readonly body: string;
  readonly source: string;
}

/** The primitive steps of a lease or a release, inside the transaction `QueueBackend.leasing` opened. */
export interface LeaseSteps {
  /**
   * Up to `limit` deliveries of the destination that `transition` takes, in index order, each locked against
   * other leasers (Postgres skips those another transaction holds): `takeOver`, in-flight ones whose lease has
   * expired, by expiry; `lease`, pending ones due now, by due time; `probe`, paused ones, by due time. Ties by id.
   */
  candidates(destinationId: string, transition: LeaseTransition, limit: number): Promise<LeaseCandidate[]>;
  /** Every in-flight delivery, or `owner`'s, locked. */
  inFlight(owner?: string): Promise<HeldDelivery[]>;
  /** Appends these attempts to their deliveries' logs (their counts are moved by the step that moves each delivery). */
  logAttempts(attempts: readonly AttemptRow[]): Promise<void>;
  /** Sets these in-flight deliveries aside as dead (`abandon`): one attempt more, the interruption count reset, `reason` kept. */
  abandon(deliveryIds: readonly string[], reason: string): Promise<void>;
  /**
   * Moves these deliveries into flight by `transition`, held by `owner` for `leaseMs` from now; `interrupted`
   * (a takeover) also counts one attempt and one interruption more.
   */
  markLeased(
    deliveryIds: readonly string[],
    transition: LeaseTransition,
    lease: { readonly owner: string; readonly leaseMs: number; readonly interrupted: boolean },
  ): Promise<void>;
  /** Returns these in-flight deliveries to pending (`release`), counting one attempt and one interruption more, with `reason`. */
  release(deliveryIds: readonly string[], reason: string): Promise<void>;
  /** The webhook bodies of these events, each with the source it came through, by event id. */
  bodies(eventIds: readonly string[]): Promise<ReadonlyMap<string, StoredBody>>;
}
