import { percentile, summarize } from './stats';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the sample at the rank, not an interpolation', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30], 99)).toBe(30);
  });

  it('has no value without samples', () => {
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('summarize', () => {
  it('sorts the samples and keeps sub-millisecond precision', () => {
    expect(summarize([3.333, 0.25, 2, 1])).toEqual({ count: 4, p50Ms: 1, p99Ms: 3.33, maxMs: 3.33 });
  });

  it('reports nulls for no samples', () => {
    expect(summarize([])).toEqual({ count: 0, p50Ms: null, p99Ms: null, maxMs: null });
  });
});
