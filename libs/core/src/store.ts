import type { Environment, EventKind, SubscriptionEvent } from './event';
import type { OutcomeType } from './plugin';
import type { StateVerdict } from './state-order';
import type { CompletedState, DeliveryState, NewDeliveryState, StateBefore } from './delivery-states';

/**
 * The durable store's port. `@ferry/store` implements it on SQLite and Postgres; the engine and runner
 * use only this interface. All times are milliseconds since the epoch.
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

export interface IngestEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly kind: EventKind | null;
  readonly userId: string | null;
  readonly environment: Environment;
  readonly timestampMs: number;
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
  const { id, source, type, kind, appUserId: userId, environment, timestampMs } = event;
  return { id, source, type, kind, userId, environment, timestampMs, body, userIds: userIdsOf(event) };
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

/** What retention keeps, as cut-off times (SPEC §9). */
export interface RetentionCutoffs {
  /** Events received before this whose deliveries are all delivered or skipped are removed. */
  readonly finalBeforeMs: number;
  /** Events with a dead delivery (the rest final) are removed only once received before this. */
  readonly deadBeforeMs: number;
}

/** How `prune` went: events removed, and whether another runner was pruning (Postgres), so this one stood aside. */
export interface PruneResult {
  readonly removed: number;
  readonly busy: boolean;
}

export interface NewDelivery {
  readonly destinationId: string;
  readonly state: NewDeliveryState;
  /** For skipped: `rule: reason`; for paused: what is missing. */
  readonly reason?: string;
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
}

export interface AttemptRecord {
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly status: number | null;
  readonly outcome: OutcomeType;
  readonly error: string | null;
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

/** One delivery that could carry the subscription state, and the profile it would write it to (`stateProfileOf`). */
export interface StateCandidate {
  readonly deliveryId: string;
  readonly profile: string;
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

export interface ReplaySelector {
  readonly deliveryIds?: readonly string[];
  readonly eventIds?: readonly string[];
  /** Events received within [fromMs, toMs). */
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly destinationId?: string;
  /** Which states may be replayed; default dead and skipped. */
  readonly states?: readonly StateBefore<'replay'>[];
}

/** What an orphaned delivery an operator dropped says of itself (`rule: reason`, as every skip). */
export const DESTINATION_REMOVED = 'destination_removed: dropped by an operator, the destination is no longer configured';

/** What `reassignOrphans` did. */
export interface Reassignment {
  /** Moved to the new destination, pending and due at once with a fresh retry window. */
  readonly reassigned: number;
  /** Left waiting with the old destination: their event already has a delivery to the new one, which keeps its own. */
  readonly kept: number;
}

export interface StoreStats {
  /** Count per destination and state. */
  readonly deliveries: readonly { readonly destinationId: string; readonly state: DeliveryState; readonly count: number }[];
  /** Age of the oldest due pending delivery per destination (0 when none). */
  readonly oldestPendingAgeMs: readonly { readonly destinationId: string; readonly ageMs: number }[];
  readonly events: number;
}

/** Why a destination is paused for every runner: an operator paused it, or the destination refused its credentials. */
export const STORED_PAUSE_CAUSES = ['operator', 'credentials'] as const;
export type StoredPauseCause = (typeof STORED_PAUSE_CAUSES)[number];

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

export interface Store {
  /** Creates or upgrades the schema; safe when several runners start at once. */
  migrate(): Promise<void>;
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
  /** When the destination's next pending delivery falls due, if any. */
  nextDueAtMs(destinationId: string): Promise<number | undefined>;
  listEvents(filter: ListFilter): Promise<EventRow[]>;
  listDeliveries(filter: ListFilter): Promise<DeliveryRow[]>;
  getEvent(id: string): Promise<EventDetail | undefined>;
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
  /**
   * Makes selected deliveries pending again with a fresh retry window. Works in short transactions of a
   * bounded number of deliveries, each found through an index, and yields to the event loop between them
   * (webhooks and health checks answer meanwhile); reports the running total after each.
   */
  replay(selector: ReplaySelector, nowMs: number, onProgress?: (replayed: number) => void): Promise<number>;
  /**
   * Makes the waiting deliveries of a destination no longer configured final: skipped, with the reason
   * `DESTINATION_REMOVED`, in bounded chunks. In-flight ones only once their lease has expired.
   */
  dropOrphans(destinationId: string, nowMs: number): Promise<number>;
  /** Moves the waiting deliveries of `fromDestinationId` to `toDestinationId` (see `Reassignment`), in bounded chunks. */
  reassignOrphans(fromDestinationId: string, toDestinationId: string, nowMs: number): Promise<Reassignment>;
  /**
   * Retention: removes events older than the cut-offs whose deliveries are all final (see `expire`), with
   * their deliveries and attempts, in short transactions of a bounded number of events, yielding to the event
   * loop between them; SQLite gives the freed pages back to the file system. On Postgres one store prunes at
   * a time: another finds it busy and stands aside. Reports the running total after each batch, and stops
   * between batches once `signal` aborts (the runner shutting down).
   */
  prune(cutoffs: RetentionCutoffs, onProgress?: (removed: number) => void, signal?: AbortSignal): Promise<PruneResult>;
  /**
   * Erasure (a privacy request): removes every event naming `appUserId` in any of its user ids, webhook body
   * included, with its deliveries and attempts, whatever their state (an in-flight delivery's holder then
   * finds nothing to renew or complete), and the subscription-state marks of every profile the customer's
   * events reached: the customer being `appUserId` and every user id its events name. In bounded chunks;
   * SQLite overwrites what it deletes and checkpoints its WAL. Answers how many events were removed.
   * SQLite answers only once neither its file nor its WAL holds them: when another connection reads the file
   * for too long (a backup, the CLI) it throws a `StoreUnavailableError` instead, and erasing again finishes.
   */
  erase(appUserId: string): Promise<number>;
  stats(nowMs: number): Promise<StoreStats>;
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
  /**
   * Throws when the store cannot be reached, or cannot take new events: its file is gone, or its last commit
   * failed and a small write still does (a full disk) — a `StoreUnavailableError` saying so.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
