/**
 * A loop's idle wait that new work ends early: `wake` ends the sleep in progress, or, when none is, makes the
 * next one return at once, so a wake-up between two sleeps is never lost.
 */
export class WakeableSleep {
  /** Set by a wake-up that found no sleep to end. */
  private woken = false;
  private end: (() => void) | undefined;

  /** Sleeps up to `ms`, less if woken. */
  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.end = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.end = end;
    });
  }

  wake(): void {
    this.woken = true;
    this.end?.();
  }

  /** Forgets a wake-up no sleep has seen yet: the work it announced is already being looked at. */
  forget(): void {
    this.woken = false;
  }
}
