import type { DeliveryState } from '../delivery-states';

/**
 * Activity (SPEC §17): per-minute counts of what every runner did, kept in the store so the console's charts
 * show the whole installation, whichever runner answers. Counts are added by each runner's recorder a few
 * seconds at a time (never per webhook or delivery); the backlog is a gauge sampled from the store's own counts.
 */

/** One minute: every row's `minuteMs` is a multiple of it. */
export const ACTIVITY_MINUTE_MS = 60_000;

/** How long minutes are kept: the longest the console's charts look back. Retention prunes older ones. */
export const ACTIVITY_KEPT_MS = 48 * 60 * ACTIVITY_MINUTE_MS;

/** The counted series: webhooks stored (not duplicates), deliveries delivered, attempts that failed (retry, rejected, auth failed). */
export const COUNTED_SERIES = ['received', 'delivered', 'failed'] as const;
export type CountedSeries = (typeof COUNTED_SERIES)[number];

/** Every series: the counted ones and `backlog`, the deliveries not yet final (pending, in flight, paused) as sampled. */
export const ACTIVITY_SERIES = [...COUNTED_SERIES, 'backlog'] as const;
export type ActivitySeries = (typeof ACTIVITY_SERIES)[number];

/** The states of a delivery not yet final: what the backlog counts. */
export const BACKLOG_STATES = ['pending', 'in_flight', 'paused'] as const satisfies readonly DeliveryState[];

/** How much one series grew in one minute. */
export interface ActivityCount {
  readonly series: CountedSeries;
  /** The minute's start, ms since the epoch: a multiple of ACTIVITY_MINUTE_MS. */
  readonly minuteMs: number;
  readonly value: number;
}

/** A stored minute of one series. */
export interface ActivityRow {
  readonly series: ActivitySeries;
  readonly minuteMs: number;
  readonly value: number;
}

/** The start of the minute `timeMs` falls in. */
export function minuteOf(timeMs: number): number {
  return Math.floor(timeMs / ACTIVITY_MINUTE_MS) * ACTIVITY_MINUTE_MS;
}

export interface ActivityLog {
  /**
   * Adds each count to its minute's row (made at 0 when missing), all in one transaction. Atomic per row on the
   * database, so runners adding to one minute at once lose nothing: the row ends at the sum.
   */
  add(counts: readonly ActivityCount[]): Promise<void>;
  /**
   * Samples the backlog into `minuteMs`'s row from the counts the store keeps per destination and state (no
   * scan of deliveries), and answers the value read. A minute keeps the highest value sampled in it: the same
   * whichever runner samples last, and a peak between two samples of different runners is not overwritten by
   * the lower one after it.
   */
  sampleBacklog(minuteMs: number): Promise<number>;
  /** Every stored row with `fromMs <= minuteMs < toMs`, by minute then series. */
  read(fromMs: number, toMs: number): Promise<ActivityRow[]>;
  /** Retention: removes the rows of minutes before `beforeMs`; answers how many. */
  prune(beforeMs: number): Promise<number>;
}
