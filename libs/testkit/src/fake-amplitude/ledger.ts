/** Events per user or device over a sliding window: Amplitude's per-id rate limit (events/s averaged over ~30 s). */
export class RateWindow {
  private readonly times = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  /** Events counted for `key` in the window that ends at `now`. */
  count(key: string, now: number): number {
    const kept = (this.times.get(key) ?? []).filter((time) => time > now - this.windowMs);
    if (kept.length === 0) this.times.delete(key);
    else this.times.set(key, kept);
    return kept.length;
  }

  add(key: string, now: number, events: number): void {
    const times = this.times.get(key) ?? [];
    for (let i = 0; i < events; i++) times.push(now);
    this.times.set(key, times);
  }

  /** Events per second that `count` events in the window amount to. */
  rate(count: number): number {
    return Math.round((count * 1000) / this.windowMs);
  }

  clear(): void {
    this.times.clear();
  }
}

/** Amplitude ignores an `insert_id` it saw in the past 7 days (per project and device). */
export const DEDUPE_WINDOW_MS = 7 * 24 * 60 * 60_000;

export class DedupeLog {
  private readonly firstSeen = new Map<string, number>();

  /** Whether `key` was taken within the window; if not, it is taken now. */
  seenBefore(key: string, now: number): boolean {
    const at = this.firstSeen.get(key);
    if (at !== undefined && now - at < DEDUPE_WINDOW_MS) return true;
    this.firstSeen.set(key, now);
    return false;
  }

  clear(): void {
    this.firstSeen.clear();
  }
}
