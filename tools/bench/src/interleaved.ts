import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FakeCleverTap } from '@ferry/testkit';
import { drainBacklog, underLoad } from './measure';
import { RUNNER_MAIN } from './processes';
import type { DrainFigures, ServerLoadFigures } from './report';
import type { Backend } from './backends';
import { withRunner } from './runner-config';
import { fillStore, fillTargetOf, openFillTarget, type FillOptions, type StoreOfAnyBuild } from './store-fill';

/**
 * Before and after, interleaved: the ingest row (destination paused, 64 connections) and the drain of a paused
 * backlog, on each store, on another checkout's build and on this one in turn, round after round, so both see
 * the same machine. The machine's speed moves by tens of percent between runs minutes apart; alternating is what
 * makes the two columns comparable.
 */

export interface InterleavedSizes {
  readonly rounds: number;
  readonly loadSeconds: number;
  readonly warmupSeconds: number;
  readonly drainEvents: number;
}

/** A build of the runner: its process entry and the store module that fills a backlog in its own schema. */
interface Build {
  readonly label: string;
  readonly runnerMain: string;
  readonly open: NonNullable<FillOptions['open']>;
}

export interface InterleavedRun {
  readonly build: string;
  readonly store: Backend['store'];
  readonly round: number;
  readonly ingest: ServerLoadFigures;
  readonly drain: DrainFigures;
}

const CONNECTIONS = 64;

/** The build in another checkout (built with `npm run build` or `nx run runner:build` there). */
export function otherBuild(checkout: string): Build {
  const root = path.resolve(checkout);
  const runnerMain = path.join(root, 'apps/runner/dist/main.js');
  const storeModule = path.join(root, 'libs/store');
  for (const needed of [runnerMain, path.join(storeModule, 'dist')])
    if (!existsSync(needed)) throw new Error(`--against ${checkout}: ${needed} is missing; build that checkout first`);
  // The other build's own store code, so its runner finds a backlog in the schema it knows.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { openStore } = require(storeModule) as { openStore: (url: string) => Promise<StoreOfAnyBuild> };
  return { label: path.basename(root), runnerMain, open: async (url) => fillTargetOf(await openStore(url)) };
}

export function thisBuild(): Build {
  return { label: 'this checkout', runnerMain: RUNNER_MAIN, open: openFillTarget };
}

export async function runInterleaved(
  builds: readonly Build[],
  backends: readonly Backend[],
  sizes: InterleavedSizes,
  workDir: string,
  fake: FakeCleverTap,
  progress: (message: string) => void,
): Promise<InterleavedRun[]> {
  const runs: InterleavedRun[] = [];
  for (let round = 1; round <= sizes.rounds; round += 1) {
    for (const backend of backends) {
      // Which build goes first alternates too: a machine that slows or speeds within a round favours neither.
      const order = round % 2 === 1 ? [...builds.entries()] : [...builds.entries()].reverse();
      for (const [index, build] of order) {
        const name = (row: string) => `ab-${backend.store}-${index}-${row}`;
        const ingest = await withRunner(
          workDir,
          name('ingest'),
          { storeUrl: await backend.freshStore(name('ingest')), destination: 'paused' },
          { runnerMain: build.runnerMain },
          (runner) =>
            underLoad(runner, {
              url: runner.url,
              connections: CONNECTIONS,
              durationS: sizes.loadSeconds,
              warmupS: sizes.warmupSeconds,
              idPrefix: `ab-${round}-${index}`,
            }),
        );
        const drainStore = await backend.freshStore(name('drain'));
        const fill = await fillStore(drainStore, {
          count: sizes.drainEvents,
          idPrefix: 'backlog',
          state: 'paused',
          reason: 'bench backlog',
          open: build.open,
        });
        fake.reset();
        const drain = await withRunner(
          workDir,
          name('drain'),
          { storeUrl: drainStore, destination: fake.url },
          { runnerMain: build.runnerMain },
          (runner) => drainBacklog(runner, fake, sizes.drainEvents, fill),
        );
        progress(
          `round ${round}, ${backend.store}, ${build.label}: ingest ${ingest.perSecond}/s at ${ingest.cpuMicrosPerWebhook} µs, drain ${drain.perSecond}/s at ${drain.cpuMicrosPerEvent} µs`,
        );
        runs.push({ build: build.label, store: backend.store, round, ingest, drain });
      }
    }
  }
  return runs;
}

/** Per store, one row per figure and one column per build, each cell the rounds' figures in order. */
export function renderInterleaved(runs: readonly InterleavedRun[], sizes: InterleavedSizes): string {
  const builds = [...new Set(runs.map((run) => run.build))];
  const stores = [...new Set(runs.map((run) => run.store))];
  const figures: [string, (run: InterleavedRun) => number | null][] = [
    ['ingest, webhooks/s', (run) => run.ingest.perSecond],
    ['ingest, runner CPU µs per webhook', (run) => run.ingest.cpuMicrosPerWebhook],
    ['ingest, p99 ms', (run) => run.ingest.p99Ms],
    ['drain, events/s', (run) => run.drain.perSecond],
    ['drain, runner CPU µs per event', (run) => run.drain.cpuMicrosPerEvent],
  ];
  const cells = (store: string, figure: (run: InterleavedRun) => number | null) =>
    builds.map((build) =>
      runs
        .filter((run) => run.build === build && run.store === store)
        .map((run) => figure(run) ?? '–')
        .join(' / '),
    );
  return [
    `Destination paused, ${CONNECTIONS} connections, ${sizes.loadSeconds} s after a ${sizes.warmupSeconds} s warm-up; drain of ${sizes.drainEvents} events; ${sizes.rounds} rounds, builds alternating`,
    '',
    `| store | row | ${builds.map((build) => `${build}, round 1 / … / ${sizes.rounds}`).join(' | ')} |`,
    `|---|---|${builds.map(() => '--:').join('|')}|`,
    ...stores.flatMap((store) => figures.map(([label, figure]) => `| ${store} | ${label} | ${cells(store, figure).join(' | ')} |`)),
  ].join('\n');
}
