import type { StateBefore } from '../delivery-states';

/**
 * Maintenance: what operators and the retention job ask of the store, over many deliveries at once. Each
 * works in short transactions and yields between them, so webhooks and deliveries carry on meanwhile.
 */

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

export interface Maintenance {
  /**
   * Makes selected deliveries pending again with a fresh retry window. Works in short transactions of a
   * bounded number of deliveries, each found through an index, and yields to the event loop between them
   * (webhooks and health checks answer meanwhile); reports the running total after each.
   */
  replay(selector: ReplaySelector, nowMs: number, onProgress?: (replayed: number) => void): Promise<number>;
  /** How many deliveries `replay` with this selector would make pending now, read the way it finds them; changes nothing. */
  countReplay(selector: ReplaySelector): Promise<number>;
  /**
   * Makes the waiting deliveries of a destination no longer configured final: skipped, with the reason
   * `DESTINATION_REMOVED`, in bounded chunks. In-flight ones only once their lease has expired.
   */
  dropOrphans(destinationId: string, nowMs: number): Promise<number>;
  /** Moves the waiting deliveries of `fromDestinationId` to `toDestinationId` (see `Reassignment`), in bounded chunks. */
  reassignOrphans(fromDestinationId: string, toDestinationId: string, nowMs: number): Promise<Reassignment>;
  /**
   * Retention: removes events older than the cut-offs whose deliveries are all final (`expiredEventIds`), with
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
}
