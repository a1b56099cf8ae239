import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { otherBuild, renderInterleaved, type InterleavedRun } from './interleaved';
import type { DrainFigures, ServerLoadFigures } from './report';

const ingest = (perSecond: number, cpu: number) => ({ perSecond, cpuMicrosPerWebhook: cpu, p99Ms: 30 }) as ServerLoadFigures;
const drain = (perSecond: number, cpu: number) => ({ perSecond, cpuMicrosPerEvent: cpu }) as DrainFigures;

describe('the interleaved before/after scenario', () => {
  it('puts each build in a column and its rounds in order, one row per figure', () => {
    const runs: InterleavedRun[] = [
      { build: 'before', store: 'sqlite', round: 1, ingest: ingest(4000, 250), drain: drain(9000, 100) },
      { build: 'after', store: 'sqlite', round: 1, ingest: ingest(4100, 240), drain: drain(9500, 95) },
      { build: 'before', store: 'sqlite', round: 2, ingest: ingest(3900, 255), drain: drain(8800, 104) },
      { build: 'after', store: 'sqlite', round: 2, ingest: ingest(4200, 238), drain: drain(9600, 94) },
    ];
    const table = renderInterleaved(runs, { rounds: 2, loadSeconds: 10, warmupSeconds: 2, drainEvents: 100_000 });
    expect(table).toContain('| store | row | before, round 1 / … / 2 | after, round 1 / … / 2 |');
    expect(table).toContain('| sqlite | ingest, webhooks/s | 4000 / 3900 | 4100 / 4200 |');
    expect(table).toContain('| sqlite | drain, runner CPU µs per event | 100 / 104 | 95 / 94 |');
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
