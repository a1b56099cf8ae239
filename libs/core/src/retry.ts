/** When to try again and when to give up. Times in milliseconds. */
export interface RetryPolicy {
  /** First backoff step. */
  readonly baseDelayMs: number;
  /** Backoff never exceeds this (Retry-After may ask for longer, up to maxRetryAfterMs). */
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
  /** Dead only after at least this many attempts … */
  readonly maxAttempts: number;
  /** … and at least this long since the event was accepted. */
  readonly maxAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 10 * 60_000,
  maxRetryAfterMs: 60 * 60_000,
  maxAttempts: 10,
  maxAgeMs: 24 * 60 * 60_000,
};

/**
 * Delay before attempt `attempts + 1`: capped exponential backoff with full jitter over the upper half
 * (so the first retries come within seconds and never all at once), or the server's Retry-After when it
 * asks for longer. Retry-After never shortens the backoff: `Retry-After: 0` would otherwise retry at once, forever.
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: () => number, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  const backoffMs = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  if (retryAfterMs === undefined) return backoffMs;
  return Math.max(backoffMs, Math.min(Math.max(retryAfterMs, 0), policy.maxRetryAfterMs));
}

/** Whether a delivery that failed again should be given up: both limits must be reached. */
export function retriesExhausted(policy: RetryPolicy, attempts: number, firstAcceptedAtMs: number, nowMs: number): boolean {
  return attempts >= policy.maxAttempts && nowMs - firstAcceptedAtMs >= policy.maxAgeMs;
}

/** Parses a Retry-After header (delta seconds or an HTTP date) into milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
