/** Latency figures in milliseconds, from raw samples (not a histogram, so sub-millisecond values keep their precision). */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** Nearest-rank percentile (0 < p ≤ 100) of ascending samples; undefined when there are none. */
export function percentile(ascending: ArrayLike<number>, p: number): number | undefined {
  if (ascending.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * ascending.length);
  return ascending[Math.min(ascending.length, Math.max(1, rank)) - 1];
}

export function summarize(samples: readonly number[]): LatencySummary {
  const ascending = Float64Array.from(samples).sort();
  const at = (p: number) => {
    const value = percentile(ascending, p);
    return value === undefined ? null : round(value);
  };
  return { count: samples.length, p50Ms: at(50), p99Ms: at(99), maxMs: at(100) };
}

/** CPU time of this process (user and system, every thread) since `start`, in microseconds. */
export function cpuMicrosSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return user + system;
}

/** Two decimals: figures are read by people. */
export function round(value: number, decimals = 2): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
