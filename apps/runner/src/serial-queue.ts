/**
 * Jobs run one after another, in the order added: a job that fails is reported and the next one runs.
 * `size` counts the jobs added and not yet finished, so a caller can bound what waits in memory.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly failed: (error: unknown) => void) {}

  get size(): number {
    return this.pending;
  }

  add(job: () => Promise<void>): void {
    this.pending += 1;
    this.tail = this.tail
      .then(job)
      .catch(this.failed)
      .finally(() => {
        this.pending -= 1;
      });
  }

  /** Resolves once every job added so far, and every job they added meanwhile, has finished. */
  async idle(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.tail) {
      seen = this.tail;
      await seen;
    }
  }
}
