import {
  COUNTED_SERIES,
  minuteOf,
  type ActivityCount,
  type ActivityLog,
  type Clock,
  type CountedSeries,
  type Logger,
  type OutcomeType,
} from '@ferry/core';

/** A minute's counts not yet in the store. */
type MinuteCounts = Record<CountedSeries, number>;

export interface ActivityRecorderDeps {
  readonly activity: ActivityLog;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the counts go to the store: what a crash may lose, and how far behind other runners' charts are. */
  readonly flushEveryMs: number;
}

/**
 * This runner's part of the per-minute activity (SPEC §17). Webhooks and delivery outcomes are counted where
 * the metrics count them (`RunnerMetrics` calls `received` and `attempted`), in memory only; every
 * `flushEveryMs` the minutes counted go to the store in one transaction, added to what other runners added,
 * and the backlog is sampled. A crash loses at most the counts of the last `flushEveryMs`, never an event or a
 * delivery: the counts are a picture of the traffic, the events and deliveries stay the record. A failed flush
 * keeps its counts for the next. An idle runner writes once a minute (the backlog's sample), not every flush.
 */
export class ActivityRecorder {
  private unflushed = new Map<number, MinuteCounts>();
  /** The minute counted last and its counts: most increments are one comparison and one addition. */
  private current: { readonly minuteMs: number; readonly counts: MinuteCounts } | undefined;
  /** The minute whose backlog this runner sampled last. */
  private sampledMinuteMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly deps: ActivityRecorderDeps) {}

  /** A webhook stored (a duplicate is not counted). */
  received(): void {
    this.countsNow().received += 1;
  }

  /** One request's deliveries that got `outcome`: delivered, or failed (retry, rejected, credentials refused). */
  attempted(outcome: OutcomeType, deliveries: number): void {
    this.countsNow()[outcome === 'delivered' ? 'delivered' : 'failed'] += deliveries;
  }

  /** What this runner counted that is not in the store yet: added to the stored rows, a chart is live. */
  pending(): ActivityCount[] {
    return [...this.unflushed].flatMap(([minuteMs, counts]) =>
      COUNTED_SERIES.filter((series) => counts[series] > 0).map((series) => ({ series, minuteMs, value: counts[series] })),
    );
  }

  /** Flushes every `flushEveryMs` from now on; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.deps.flushEveryMs);
    this.timer.unref();
  }

  /** Stops the timer and flushes what is left: after the server and the dispatcher stopped, so nothing is counted after it. */
  async stop(): Promise<void> {
    const started = this.timer !== undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    // A start that failed before the timer started has nothing to sample for.
    if (started || this.unflushed.size > 0) await this.flush();
  }

  /** Writes the counted minutes and samples the backlog, now; a flush already running is waited for, then this one runs. Never rejects. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.write().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private countsNow(): MinuteCounts {
    const minuteMs = minuteOf(this.deps.clock.now());
    if (this.current?.minuteMs === minuteMs) return this.current.counts;
    let counts = this.unflushed.get(minuteMs);
    if (!counts) this.unflushed.set(minuteMs, (counts = { received: 0, delivered: 0, failed: 0 }));
    this.current = { minuteMs, counts };
    return counts;
  }

  private async write(): Promise<void> {
    const { activity, clock, logger } = this.deps;
    const taken = this.unflushed;
    const counts = this.pending();
    this.unflushed = new Map();
    this.current = undefined;
    const nowMinuteMs = minuteOf(clock.now());
    if (counts.length === 0 && this.sampledMinuteMs === nowMinuteMs) return;
    try {
      await activity.add(counts);
    } catch (error) {
      this.keep(taken);
      logger.warn({ error: (error as Error).message }, 'could not store the activity counts; the next flush tries again');
      return;
    }
    try {
      await activity.sampleBacklog(nowMinuteMs);
      this.sampledMinuteMs = nowMinuteMs;
    } catch (error) {
      logger.warn({ error: (error as Error).message }, 'could not sample the backlog; the next flush tries again');
    }
  }

  /** Puts counts a failed flush took back beside those counted since. */
  private keep(taken: ReadonlyMap<number, MinuteCounts>): void {
    for (const [minuteMs, counts] of taken) {
      const now = this.unflushed.get(minuteMs);
      if (!now) this.unflushed.set(minuteMs, counts);
      else for (const series of COUNTED_SERIES) now[series] += counts[series];
    }
  }
}
