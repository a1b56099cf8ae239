import type { CompletedState, NewDeliveryState } from '../delivery-states';
import type { AttemptRecord, IngestEvent } from './records';

/**
 * The delivery queue: what the webhook route and the dispatcher use. Ingest adds events with their
 * deliveries; a dispatcher leases due deliveries, keeps its leases while it sends them, and completes them.
 */

export interface NewDelivery {
  readonly destinationId: string;
  readonly state: NewDeliveryState;
  /** For skipped: `rule: reason`; for paused: what is missing. */
  readonly reason?: string;
}

/**
 * What a planned delivery starts as, besides its id and event: the one definition of a new delivery every store
 * keeps. Skipped is final; paused ones fall due when their destination resumes.
 */
export function newDeliveryFields(delivery: NewDelivery, nowMs: number) {
  return {
    destinationId: delivery.destinationId,
    state: delivery.state,
    attempts: 0,
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

export interface LeaseRequest {
  readonly destinationId: string;
  readonly limit: number;
  readonly nowMs: number;
  readonly leaseMs: number;
  /** Who holds the lease (a runner id), so a crashed runner's leases can be told apart. */
  readonly owner: string;
  /** Which state to lease from: due `pending` deliveries (default) or `paused` ones, to probe a paused destination. */
  readonly from?: 'pending' | 'paused';
  /**
   * Stop taking deliveries once the UTF-8 bytes of their bodies reach this (at least one is taken, however
   * large), so a batch of huge webhooks cannot exhaust the heap. No cap when absent.
   */
  readonly maxBytes?: number;
}

export interface LeaseRenewal {
  readonly deliveryIds: readonly string[];
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseMs: number;
}

/**
 * A delivery whose lease was taken over after expiring, or released at start after a crash, was being
 * sent when its runner stopped: that counts as an attempt. A delivery interrupted this many times in a
 * row is likely what stops the runner (a poison delivery) and is set aside as dead with this reason.
 */
export const MAX_INTERRUPTIONS = 3;

/** The attempt-log error of an interrupted attempt. */
export const INTERRUPTED_ERROR = 'interrupted: the runner holding it stopped while sending it';

export function interruptedTooOftenError(times: number): string {
  return `interrupted: the runner holding it stopped ${times} times while sending it`;
}

export interface LeasedDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly destinationId: string;
  readonly attempts: number;
  /** Start of the retry window: acceptance time, or the last replay. */
  readonly windowStartMs: number;
  readonly body: string;
  /** The id of the source the event came through (its events row's `source`): which plugin decodes `body`. */
  readonly source: string;
}

/** What became of one leased delivery. */
export interface DeliveryUpdate {
  readonly deliveryId: string;
  /** Where the attempt leads (see COMPLETIONS): only a delivery still in flight under the caller's lease changes. */
  readonly state: CompletedState;
  /** For `pending`: when to try again. On Postgres its delay (`nextAttemptAtMs - nowMs`) counts from the database's now (see `lease`). */
  readonly nextAttemptAtMs?: number;
  /** Whether a request was made for it (adds one to `attempts` and appends to its attempt log). */
  readonly attempt?: AttemptRecord;
  readonly lastStatus?: number | null;
  readonly lastError?: string | null;
  /**
   * For a delivery sent under a state claim (`claimSubscriptionState` answered `state`): its profile, and
   * whether the destination took the state. Settles the claim as the update is applied: the claim ends, and
   * the profile's accepted mark moves to the delivery's event only if `accepted`.
   */
  readonly stateClaim?: StateClaim;
}

/** How a delivery sent with the subscription state for a profile went (see `DeliveryUpdate.stateClaim`). */
export interface StateClaim {
  readonly profile: string;
  readonly accepted: boolean;
}

export interface DeliveryQueue {
  /** Stores the event and its deliveries in one transaction; a known event id stores nothing. */
  ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<'stored' | 'duplicate'>;
  /**
   * Takes up to `limit` due deliveries (and expired leases) of one destination, oldest first, up to
   * `maxBytes` of bodies. An expired lease taken over counts as an interrupted attempt; the
   * `MAX_INTERRUPTIONS`th in a row makes the delivery dead instead of leased. On Postgres, expiry and due
   * times are judged, and `leaseUntilMs` and every due time set, by the database's clock, so runners with
   * skewed clocks agree.
   */
  lease(request: LeaseRequest): Promise<LeasedDelivery[]>;
  /**
   * Extends the owner's leases of these deliveries by `leaseMs` from now (the database's now on Postgres),
   * while their batch is still being sent. Returns the ids still held; the others were lost.
   */
  renewLeases(renewal: LeaseRenewal): Promise<string[]>;
  /**
   * Which of these deliveries `owner` still holds: in flight under its lease (not taken over, completed,
   * released or erased). A read: it neither extends the leases nor writes anything.
   */
  heldLeases(deliveryIds: readonly string[], owner: string): Promise<string[]>;
  /**
   * Applies outcomes of deliveries leased by `owner`, in one transaction, settling their state claims (see
   * `DeliveryUpdate.stateClaim`). Outcomes for deliveries the owner no longer holds (its lease expired and
   * another runner took it, or it was released) are ignored, their claims included.
   */
  complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void>;
  /**
   * Returns in-flight deliveries to pending: all of them (embedded store at start, after a crash) or one
   * owner's. Each counts as an interrupted attempt, as a takeover does.
   */
  releaseLeases(owner?: string): Promise<number>;
  /** Moves a destination's pending deliveries to paused, or paused back to pending. */
  setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number>;
  /** When the destination's next pending delivery falls due, if any. */
  nextDueAtMs(destinationId: string): Promise<number | undefined>;
}
