interface Waiter<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted in the same turn of the event loop, or while a commit is in flight,
 * share the next transaction, so one fsync serves many callers. Each caller's promise settles only
 * after the transaction holding its item has committed. When a shared transaction fails and the
 * database is still reachable, one item must be at fault: each is retried in a transaction of its
 * own, so a bad item fails only its own caller. When the database is down, all fail at once. While the
 * database is slow, at most `maxWaiting` items wait for a transaction; more are refused at once, so callers
 * hear "busy" (and retry later) instead of piling up in memory.
 */
export class GroupCommit<I, R> {
  private queue: Waiter<I, R>[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Settles with the item submitted last; items commit in the order they were submitted. */
  private lastSettled: Promise<unknown> = Promise.resolve();

  /** `commit` stores the items in one transaction and returns one result per item, in order. */
  constructor(
    private readonly commit: (items: readonly I[]) => Promise<readonly R[]>,
    private readonly maxItems: number,
    private readonly reachable: () => Promise<boolean>,
    private readonly maxWaiting: number,
  ) {}

  submit(item: I): Promise<R> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    if (this.queue.length >= this.maxWaiting) {
      return Promise.reject(new Error(`store busy: ${this.queue.length} items already wait for a commit`));
    }
    const settled = new Promise<R>((resolve, reject) => this.queue.push({ item, resolve, reject }));
    this.lastSettled = settled.catch(() => undefined);
    // Wait one turn so every call made in this turn joins the first transaction.
    this.draining ??= new Promise((resolve) => setImmediate(resolve)).then(() => this.drain());
    return settled;
  }

  /** Resolves once every item submitted so far has settled (those submitted later are not waited for). */
  async flushed(): Promise<void> {
    await this.lastSettled;
  }

  /** Refuses new items and resolves once every submitted one has settled. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.commitGroup(this.queue.splice(0, this.maxItems));
    // Cleared in the same synchronous step as the final empty check, so no submit can be stranded.
    this.draining = undefined;
  }

  private async commitGroup(group: readonly Waiter<I, R>[]): Promise<void> {
    try {
      const results = await this.commit(group.map((w) => w.item));
      group.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      if (group.length > 1 && (await this.reachable())) {
        for (const waiter of group) await this.commitGroup([waiter]);
      } else {
        for (const waiter of group) waiter.reject(error);
      }
    }
  }
}
