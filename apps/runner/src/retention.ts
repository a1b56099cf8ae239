import { ACTIVITY_KEPT_MS, type ActivityLog, type Clock, type Logger, type Maintenance, type PruneResult } from '@ferry/core';

const DAY_MS = 86_400_000;

export interface RetentionSettings {
  readonly days: number;
  readonly deadDays: number;
  readonly intervalMinutes: number;
}

/**
 * Retention in the background (SPEC §9): every `intervalMinutes`, and once soon after start, removes the
 * final events older than `days` (`deadDays` when a delivery is dead) through the store, which works in
 * short batches and yields between them, so webhooks and deliveries carry on. With several runners on
 * Postgres, the one pruning holds a lock and the others stand aside until their next round. Each round also
 * removes the per-minute activity older than ACTIVITY_KEPT_MS (a few thousand rows at most; any runner may).
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<PruneResult> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: {
      readonly maintenance: Pick<Maintenance, 'prune'>;
      readonly activity: Pick<ActivityLog, 'prune'>;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly settings: RetentionSettings;
    },
  ) {}

  start(): void {
    if (this.timer || this.stopping.signal.aborted) return;
    const every = this.deps.settings.intervalMinutes * 60_000;
    const tick = () => void this.run();
    this.timer = setInterval(tick, every);
    // The first round soon, not a whole interval after start; neither timer keeps the process alive.
    setImmediate(tick);
    this.timer.unref();
  }

  /** One round, now; a round already running is the one answered. Never rejects: a failure is logged and retried next round. */
  run(): Promise<PruneResult> {
    this.round ??= this.prune().finally(() => (this.round = undefined));
    return this.round;
  }

  /** Stops the timer and the round in progress (after its current batch). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.round;
  }

  private async prune(): Promise<PruneResult> {
    const { maintenance, clock, logger, settings } = this.deps;
    if (this.stopping.signal.aborted) return { removed: 0, busy: false };
    const nowMs = clock.now();
    await this.pruneActivity(nowMs);
    const cutoffs = { finalBeforeMs: nowMs - settings.days * DAY_MS, deadBeforeMs: nowMs - settings.deadDays * DAY_MS };
    try {
      const result = await maintenance.prune(cutoffs, undefined, this.stopping.signal);
      if (result.removed > 0) logger.info({ removed: result.removed }, 'retention removed old events');
      if (result.busy) logger.debug({}, 'retention: another runner is pruning; this one stands aside until its next round');
      return result;
    } catch (error) {
      logger.warn({ error: (error as Error).message }, 'retention round failed; the next round tries again');
      return { removed: 0, busy: false };
    }
  }

  private async pruneActivity(nowMs: number): Promise<void> {
    try {
      await this.deps.activity.prune(nowMs - ACTIVITY_KEPT_MS);
    } catch (error) {
      this.deps.logger.warn({ error: (error as Error).message }, 'could not remove old activity counts; the next round tries again');
    }
  }
}
