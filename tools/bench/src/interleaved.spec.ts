import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { otherBuild, renderInterleaved, type InterleavedResult } from './interleaved';
import type { DrainFigures, ServerLoadFigures, SteadyFigures } from './report';

const ingest = (perSecond: number, cpu: number | null) => ({ perSecond, cpuMicrosPerWebhook: cpu, p99Ms: 30 }) as ServerLoadFigures;
const bare = (perSecond: number) => ({ perSecond }) as ServerLoadFigures;
const drain = (perSecond: number, cpu: number) => ({ perSecond, cpuMicrosPerEvent: cpu }) as DrainFigures;
const steady = (p99Ms: number, endToEndP99Ms: number, notDelivered = 0) =>
  ({ perSecond: 1000, p99Ms, endToEnd: { p99Ms: endToEndP99Ms, notDelivered } }) as SteadyFigures;
const SIZES = { rounds: 2, loadSeconds: 10, warmupSeconds: 2, steadySeconds: 10, drainEvents: 100_000 };

/** The cells of the row `| store | label | … |`, or undefined when the table has no such row. */
function row(table: string, store: string, label: string): string[] | undefined {
  const line = table.split('\n').find((candidate) => candidate.startsWith(`| ${store} | ${label} |`));
  return line
    ?.split(' | ')
    .slice(2)
    .map((cell) => cell.replace(/ \|$/, ''));
}

describe('the interleaved before/after scenario', () => {
  const result: InterleavedResult = {
    builds: ['before', 'after'],
    bare: [
      { round: 1, figures: bare(8000) },
      { round: 2, figures: bare(10_000) },
    ],
    runs: [
      { build: 'before', store: 'sqlite', round: 1, ingest: ingest(4000, 250), steady: steady(4, 40), drain: drain(9000, 100) },
      { build: 'after', store: 'sqlite', round: 1, ingest: ingest(4800, 240), steady: steady(3, 30), drain: drain(9500, 95) },
      { build: 'after', store: 'sqlite', round: 2, ingest: ingest(5200, 238), steady: steady(5, 50), drain: drain(9600, 94) },
      { build: 'before', store: 'sqlite', round: 2, ingest: ingest(4000, 254), steady: steady(6, 60, 2), drain: drain(8800, 104) },
    ],
  };
  const table = renderInterleaved(result, SIZES);

  it('puts each build in its rounds and their mean, then the means before → after in percent', () => {
    expect(table).toContain(
      '| store | row | before, round 1 / … / 2 | before, mean | after, round 1 / … / 2 | after, mean | mean, before → after |',
    );
    expect(row(table, 'sqlite', 'ingest, webhooks/s')).toEqual(['4000 / 4000', '4000', '4800 / 5200', '5000', '4000 → 5000 (+25%)']);
    // Means show the figure's own precision ((95 + 94) / 2 reads 95); the percent comes from the unrounded 94.5.
    expect(row(table, 'sqlite', 'drain, runner CPU µs per event')).toEqual(['100 / 104', '102', '95 / 94', '95', '102 → 95 (−7.4%)']);
  });

  it("reads each ingest as × the bare server of the same round, and prints the bare server's rounds", () => {
    // Before: 4000 / 8000 and 4000 / 10000; after: 4800 / 8000 and 5200 / 10000.
    expect(row(table, 'sqlite', 'ingest, × bare (target ≥ 0.5)')).toEqual([
      '0.5 / 0.4',
      '0.45',
      '0.6 / 0.52',
      '0.56',
      '0.45 → 0.56 (+24.4%)',
    ]);
    expect(table).toContain('Bare node:http, webhooks/s, round 1 / … / 2: 8000 / 10000 (mean 9000)');
  });

  it('shows the steady rate reached, its latencies and the events not delivered', () => {
    expect(row(table, 'sqlite', 'steady, webhooks/s (asked 1,000)')).toEqual([
      '1000 / 1000',
      '1000',
      '1000 / 1000',
      '1000',
      '1000 → 1000 (0%)',
    ]);
    expect(row(table, 'sqlite', 'steady, ingest p99 ms')).toEqual(['4 / 6', '5', '3 / 5', '4', '5 → 4 (−20%)']);
    expect(row(table, 'sqlite', 'steady, end-to-end p99 ms')).toEqual(['40 / 60', '50', '30 / 50', '40', '50 → 40 (−20%)']);
    expect(row(table, 'sqlite', 'steady, not delivered (must be 0)')).toEqual(['0 / 2', '1', '0 / 0', '0', '1 → 0 (−100%)']);
  });

  it('shows a figure not measured as – and leaves it out of the mean', () => {
    const missing: InterleavedResult = {
      builds: ['before', 'after'],
      // Round 2's bare server is missing: no × bare for that round.
      bare: [{ round: 1, figures: bare(8000) }],
      runs: [
        { build: 'before', store: 'postgres', round: 1, ingest: ingest(2000, null), steady: steady(4, 40), drain: drain(7000, 100) },
        { build: 'after', store: 'postgres', round: 1, ingest: ingest(2400, null), steady: steady(4, 40), drain: drain(7000, 100) },
        { build: 'after', store: 'postgres', round: 2, ingest: ingest(3000, 300), steady: steady(4, 40), drain: drain(7000, 100) },
        // The before build's round 2 is missing altogether.
      ],
    };
    const sparse = renderInterleaved(missing, SIZES);
    expect(row(sparse, 'postgres', 'ingest, webhooks/s')).toEqual(['2000 / –', '2000', '2400 / 3000', '2700', '2000 → 2700 (+35%)']);
    expect(row(sparse, 'postgres', 'ingest, × bare (target ≥ 0.5)')).toEqual(['0.25 / –', '0.25', '0.3 / –', '0.3', '0.25 → 0.3 (+20%)']);
    expect(row(sparse, 'postgres', 'ingest, runner CPU µs per webhook')).toEqual(['– / –', '–', '– / 300', '300', '– → 300']);
    // From 0 there is no percent to give.
    expect(row(sparse, 'postgres', 'steady, not delivered (must be 0)')).toEqual(['0 / –', '0', '0 / 0', '0', '0 → 0']);
    expect(sparse).toContain('Bare node:http, webhooks/s, round 1 / … / 2: 8000 / – (mean 8000)');
  });

  it('refuses a checkout that has not been built, naming what is missing', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-ab-'));
    try {
      expect(() => otherBuild(dir)).toThrow(`${path.join(dir, 'apps/runner/dist/main.js')} is missing; build that checkout first`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
