import type { StateOrder, StateVerdict } from '../state-order';

/**
 * Coordination: what several runners sharing one database agree on through it — destination pauses, who
 * sends an alert, and the order of subscription states per destination profile. Each is atomic across stores
 * on one database, and durable.
 */

/** Why a destination is paused for every runner: an operator paused it, or the destination refused its credentials. */
export const STORED_PAUSE_CAUSES = ['operator', 'credentials'] as const;
export type StoredPauseCause = (typeof STORED_PAUSE_CAUSES)[number];

/** Whether a pause of cause `requested` replaces one of cause `current`: an operator's replaces a credentials pause, nothing replaces an operator's. */
export function replacesPause(requested: StoredPauseCause, current: StoredPauseCause): boolean {
  return requested === 'operator' && current !== 'operator';
}

/** A destination's pause as the store keeps it: one per paused destination, shared by every runner. */
export interface DestinationPause {
  readonly destinationId: string;
  readonly cause: StoredPauseCause;
  /** Shown to operators: their own words, or the refusal (secrets already out). */
  readonly reason: string;
  readonly sinceMs: number;
  /** Which runner (or command line) set it, for the operator's benefit. */
  readonly setBy: string;
}

/** The pauses every runner shares: what the dispatcher's destination health and the admin API use. */
export interface StoredPauses {
  /**
   * Pauses a destination for every runner and moves its pending deliveries to paused, in one transaction.
   * An operator's pause replaces a credentials pause (only the operator ends it); a credentials pause
   * leaves any pause in place. Answers the pause in force afterwards.
   */
  pauseDestination(pause: DestinationPause): Promise<DestinationPause>;
  /**
   * Ends a destination's stored pause (only one of `cause`, when given); if none is left, its paused
   * deliveries fall due, in the same transaction. Answers the pause still in force, if any.
   */
  resumeDestination(destinationId: string, nowMs: number, cause?: StoredPauseCause): Promise<DestinationPause | undefined>;
  /** The stored pauses, of one destination or of all; a cheap read every dispatcher loop makes on its polls. */
  destinationPauses(destinationId?: string): Promise<DestinationPause[]>;
}

/** An alert to claim, and to keep until each of its targets is done with it. */
export interface AlertClaim {
  readonly key: string;
  /** The alert as JSON text, already redacted: kept until it is sent, so it must carry no secret. */
  readonly alert: string;
  /** How many targets it goes to: each of 0 … targets - 1 gets it once. */
  readonly targets: number;
  /** The runner sending it: it holds the alert for `leaseMs`, and renews that with `holdAlerts`. */
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseMs: number;
}

export interface AlertHold {
  readonly owner: string;
  readonly nowMs: number;
  readonly leaseMs: number;
  readonly limit: number;
}

/** An alert one target is not done with yet. */
export interface UnsentAlert {
  readonly key: string;
  readonly target: number;
  readonly alert: string;
}

/** Alert claims and their outbox: what the runner's alerts use, so that of several runners one sends each alert. */
export interface AlertOutbox {
  /**
   * Claims an alert by its key (e.g. `paused:ct:1700000000000`): true for the first claim of the key on
   * this database, false for every later one, from any store sharing it. Atomic, so of several runners
   * that see the same event exactly one sends its alert. The first claim also keeps the alert for each
   * target, held by its owner, until `alertSent` (see `holdAlerts`).
   */
  claimAlert(claim: AlertClaim): Promise<boolean>;
  /**
   * Renews the leases of the alerts `owner` holds and takes the unsent ones no runner holds (released at a
   * stop, or whose holder's lease ran out: it crashed); answers up to `limit` of those it now holds, oldest
   * first. On Postgres, leases are judged and set by the database's clock, as deliveries' are.
   */
  holdAlerts(hold: AlertHold): Promise<UnsentAlert[]>;
  /** One target is done with an alert (it accepted it, or it was given up on): it is not sent there again. */
  alertSent(key: string, target: number): Promise<void>;
  /** Lets go of the unsent alerts `owner` holds, for the next start or another runner to send. Answers how many. */
  releaseAlerts(owner: string): Promise<number>;
  /**
   * Forgets up to `limit` claims made before `beforeMs` whose alert every target is done with (their keys
   * could be claimed again); unsent ones stay. Answers how many it removed.
   */
  pruneAlertClaims(beforeMs: number, limit: number): Promise<number>;
}

/** One delivery that could carry the subscription state, and the profile it would write it to (`stateProfileOf`). */
export interface StateCandidate {
  readonly deliveryId: string;
  readonly profile: string;
}

/** What a destination holds for one profile, as the ordering guard's mark says (`StateMarks.acceptedStates`). */
export interface ProfileState {
  readonly profile: string;
  /** The event whose state the destination accepted last, by its order; null while none was. */
  readonly accepted: StateOrder | null;
  /** A delivery holds the profile's claim, in flight under an unexpired lease: its state may change what the destination holds. */
  readonly claimInFlight: boolean;
}

/** The ordering guard's marks (SPEC §12): what the dispatcher asks before it sends subscription state. */
export interface StateMarks {
  /**
   * A read, for operators: per profile asked (each once, in the order asked), the state the destination accepted
   * and whether a claim is in flight (judged as `claimSubscriptionState` judges it, by the lease clock at `nowMs`).
   */
  acceptedStates(destinationId: string, profiles: readonly string[], nowMs: number): Promise<ProfileState[]>;
  /**
   * The ordering guard (SPEC §12), asked just before one destination's leased deliveries are sent. Per
   * destination and profile the store keeps the newest state the destination accepted (its event's timestamp,
   * then the order the store received it) and the delivery, if any, holding the profile's claim: at most one
   * request carrying state for a profile is in flight. A claim is active while its delivery is in flight under
   * an unexpired lease (judged as leases are), so a crashed runner's claim lapses with its lease; the same
   * delivery, retried or taken over, may claim again. Per profile among these candidates: one older than the
   * accepted state gets `plain`; while another delivery holds an active claim, the rest get `hold`; otherwise
   * the newest gets `state` (its claim is recorded) and the others `hold`, so that if it fails they can still
   * carry their own. Candidates of other destinations or unknown ids get no verdict. Atomic across stores
   * sharing a database, and durable. Records which users' events reached each profile, for erasure.
   */
  claimSubscriptionState(
    destinationId: string,
    candidates: readonly StateCandidate[],
    nowMs: number,
  ): Promise<ReadonlyMap<string, StateVerdict>>;
}

export interface Coordination extends StoredPauses, AlertOutbox, StateMarks {}
