import { MAINTENANCE_BATCH } from '@ferry/core';

/**
 * How long one batch (one transaction) of a background deletion should take: a webhook may wait that long. On
 * SQLite a transaction holds the only connection; on Postgres a large one still holds up the commits beside it
 * (its WAL goes first), which the webhooks' p99 shows.
 */
export const BATCH_BUDGET_MS = 20;
/** The fewest rows a batch takes: below this the fsync of each commit would be most of the work. */
export const MIN_BATCH = 10;
/** The most rows a batch takes: what a store takes in one statement. */
export const MAX_BATCH = MAINTENANCE_BATCH;
const FIRST_BATCH = 50;

/**
 * Sizes the batches of a background deletion (retention, erasure) by time: a batch over the budget halves the
 * next, one under half of it doubles it, between MIN_BATCH and MAX_BATCH. A batch's cost is the pages it writes
 * (a row and its index entries, spread over the file) and its commit, not its row count: 500 events cost 10 ms
 * where they sit together and 100 ms where they are spread among others, so a fixed count cannot bound it.
 */
export class BatchPace {
  private current = FIRST_BATCH;
  private startedAt = 0;

  constructor(private readonly budgetMs = BATCH_BUDGET_MS) {}

  /** A batch starts: answers how many rows it should take. */
  begin(): number {
    this.startedAt = performance.now();
    return this.current;
  }

  /** The batch committed: the next one is sized from how long this one took. */
  end(): void {
    const tookMs = performance.now() - this.startedAt;
    if (tookMs > this.budgetMs) this.current = Math.max(MIN_BATCH, Math.floor(this.current / 2));
    else if (tookMs < this.budgetMs / 2) this.current = Math.min(MAX_BATCH, this.current * 2);
  }
}
