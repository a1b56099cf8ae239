import type { DeliveryState } from '../delivery-states';
import { statesFrom } from '../delivery-states';
import type { ReplaySelector, RetentionCutoffs } from './maintenance';

/**
 * What a store implements for maintenance: one batch at a time, each step one short transaction (or one read)
 * found through an index. The engine's policy drives them (`Maintenance`): which deliveries a selector names,
 * the batches' sizes and pace, progress, stopping, and yielding to the event loop between batches.
 */
export interface MaintenanceBackend<Customer = unknown> {
  /**
   * Up to `limit` events received in `window`, after `after` (by receipt, then id), in that order: a read on
   * the index of receipt, no sort.
   */
  receivedEvents(window: ReceivedWindow, after: ReceivedEvent | undefined, limit: number): Promise<ReceivedEvent[]>;
  /**
   * One replay batch: the deliveries `batch` names that `filter` lets replay, pending again with a fresh retry
   * window, due now (on the lease clock). Answers how many.
   */
  replayBatch(batch: ReplayBatch, filter: ReplayFilter, nowMs: number): Promise<number>;
  /** How many deliveries `replayBatch` with these arguments would replay now. A read. */
  countReplayBatch(batch: ReplayBatch, filter: ReplayFilter): Promise<number>;
  /**
   * Up to `limit` ids of a destination's waiting deliveries that `transition` may change (in-flight ones only
   * once their lease has expired), those whose event has a delivery to `notAt` left out. A read.
   */
  waitingOrphans(destinationId: string, transition: OrphanTransition, nowMs: number, limit: number, notAt?: string): Promise<string[]>;
  /** How many of a destination's waiting deliveries `transition` may change. A read. */
  countWaitingOrphans(destinationId: string, transition: OrphanTransition, nowMs: number): Promise<number>;
  /** These orphans, still waiting, skipped with the reason `DESTINATION_REMOVED`. Answers how many. */
  dropOrphans(deliveryIds: readonly string[], nowMs: number): Promise<number>;
  /** These orphans, still waiting and their event not at `toDestinationId` yet, moved there: pending, due now. Answers how many. */
  reassignOrphans(deliveryIds: readonly string[], toDestinationId: string, nowMs: number): Promise<number>;
  /**
   * Of these events (a page `receivedEvents` gave), removes those retention expires (`expiredEventIds`), with
   * everything of them, the final deliveries locked first so a replay cannot make one pending meanwhile.
   * Answers how many, or `busy` when another store on the database is pruning (it stands aside).
   */
  expire(events: readonly ReceivedEvent[], cutoffs: RetentionCutoffs): Promise<number | 'busy'>;
  /** Up to `limit` ids of events naming `appUserId` in any of their user ids. A read. */
  eventsNaming(appUserId: string, limit: number): Promise<string[]>;
  /** Removes these events with their deliveries, attempts and user ids, whatever their state. Answers how many. */
  removeEvents(eventIds: readonly string[]): Promise<number>;
  /** The customer `appUserId` is part of, as its marks are kept: read before its events go. */
  customerOf(appUserId: string): Promise<Customer>;
  /** Removes the subscription-state marks of every profile the customer's events reached. */
  eraseMarks(customer: Customer): Promise<void>;
  /** Once an erasure removed everything: what the store does to forget it for good (SQLite empties its WAL). */
  afterErase(): Promise<void>;
  /** Between two batches of retention or erasure, once the event loop has run (SQLite lets webhooks go first). */
  afterBatch(wrote: boolean): Promise<void>;
}

export type ReceivedWindow = Pick<ReplaySelector, 'fromMs' | 'toMs'>;

/** Where an event stands in the order of receipt: a cursor of `receivedEvents`. */
export interface ReceivedEvent {
  readonly receivedAtMs: number;
  readonly id: string;
}

/** The deliveries one replay batch names: by id, by event, or both (then a delivery must match both). */
export interface ReplayBatch {
  readonly deliveryIds?: readonly string[];
  readonly eventIds?: readonly string[];
}

/** Which deliveries of a batch replay: in these states, of this destination, their event received in `window`. */
export interface ReplayFilter {
  readonly states: readonly DeliveryState[];
  readonly destinationId?: string;
  readonly window?: ReceivedWindow;
}

export type OrphanTransition = 'dropOrphan' | 'reassignOrphan';

/** Most ids or events one batch step is given: every store takes this many in one statement. */
export const MAINTENANCE_BATCH = 500;

/**
 * Of these events, those retention removes (SPEC §9): every delivery final (the states `expire` allows),
 * received before `finalBeforeMs`, or before `deadBeforeMs` when one of them is dead. `deliveries` are the
 * events' deliveries, each with its state.
 */
export function expiredEventIds(
  events: readonly ReceivedEvent[],
  deliveries: readonly { readonly eventId: string; readonly state: DeliveryState }[],
  cutoffs: RetentionCutoffs,
): string[] {
  const expiring: readonly DeliveryState[] = statesFrom('expire');
  const waiting = new Set(deliveries.filter((d) => !expiring.includes(d.state)).map((d) => d.eventId));
  const withDead = new Set(deliveries.filter((d) => d.state === 'dead').map((d) => d.eventId));
  return events
    .filter(
      (event) => !waiting.has(event.id) && event.receivedAtMs < (withDead.has(event.id) ? cutoffs.deadBeforeMs : cutoffs.finalBeforeMs),
    )
    .map((event) => event.id);
}
