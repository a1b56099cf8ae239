import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FakeCleverTap } from '@ferry/testkit';
import { bareServerLoad, drainBacklog, STEADY_RATE, steadyDelivery, underLoad } from './measure';
import { builtLibrary } from './checkout';
import { RUNNER_MAIN } from './processes';
import { TARGETS, type DrainFigures, type ServerLoadFigures, type SteadyFigures } from './report';
import { round } from './stats';
import type { Backend } from './backends';
import { withRunner } from './runner-config';
import { fillStore, fillTargetOf, openFillTarget, type FillOptions, type StoreOfAnyBuild } from './store-fill';

/**
 * Before and after, interleaved: the ingest row (destination paused, 64 connections), the steady row (1,000
 * webhooks/s delivering) and the drain of a paused backlog, on each store, on another checkout's build and on this
 * one in turn, round after round, so both see the same machine; the bare node:http server once per round, so each
 * ingest reads as × bare of its own round. The machine's speed moves by tens of percent between runs minutes apart;
 * alternating is what makes the two columns comparable.
 */

export interface InterleavedSizes {
  readonly rounds: number;
  readonly loadSeconds: number;
  readonly warmupSeconds: number;
  readonly steadySeconds: number;
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
  readonly steady: SteadyFigures;
  readonly drain: DrainFigures;
}

/** Everything one interleaved run measured. */
export interface InterleavedResult {
  /** Build labels, the one compared with (before) first. */
  readonly builds: readonly string[];
  /** The bare node:http server under the ingest row's load, once per round before that round's builds. */
  readonly bare: readonly { readonly round: number; readonly figures: ServerLoadFigures }[];
  readonly runs: readonly InterleavedRun[];
}

const CONNECTIONS = 64;

/** The build in another checkout (built with `npm run build` or `nx run runner:build` there). */
export function otherBuild(checkout: string): Build {
  const root = path.resolve(checkout);
  const runnerMain = path.join(root, 'apps/runner/dist/main.js');
  if (!existsSync(runnerMain)) throw new Error(`--against ${checkout}: ${runnerMain} is missing; build that checkout first`);
  // The other build's own store code, so its runner finds a backlog in the schema it knows.
  const { openStore } = builtLibrary<{ openStore: (url: string) => Promise<StoreOfAnyBuild> }>(checkout, 'libs/store');
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
): Promise<InterleavedResult> {
  const bare: InterleavedResult['bare'][number][] = [];
  const runs: InterleavedRun[] = [];
  const ingestLoad = (idPrefix: string) => ({
    connections: CONNECTIONS,
    durationS: sizes.loadSeconds,
    warmupS: sizes.warmupSeconds,
    idPrefix,
  });
  for (let round = 1; round <= sizes.rounds; round += 1) {
    const bareFigures = await bareServerLoad(workDir, path.join(workDir, `ab-bare-${round}.log`), ingestLoad(`ab-bare-${round}`));
    progress(`round ${round}, bare node:http: ${bareFigures.perSecond}/s at ${bareFigures.cpuMicrosPerWebhook} µs`);
    bare.push({ round, figures: bareFigures });
    for (const backend of backends) {
      // Which build goes first alternates too: a machine that slows or speeds within a round favours neither.
      const order = round % 2 === 1 ? [...builds.entries()] : [...builds.entries()].reverse();
      for (const [index, build] of order) {
        const name = (row: string) => `ab-${backend.store}-${index}-${row}`;
        const said = `round ${round}, ${backend.store}, ${build.label}`;
        const ingest = await withRunner(
          workDir,
          name('ingest'),
          { storeUrl: await backend.freshStore(name('ingest')), destination: 'paused' },
          { runnerMain: build.runnerMain },
          (runner) => underLoad(runner, { ...ingestLoad(`ab-${round}-${index}`), url: runner.url }),
        );
        const steady = await withRunner(
          workDir,
          name('steady'),
          { storeUrl: await backend.freshStore(name('steady')), destination: fake.url },
          { runnerMain: build.runnerMain },
          (runner) =>
            steadyDelivery(
              runner,
              fake,
              { durationS: sizes.steadySeconds, warmupS: sizes.warmupSeconds, idPrefix: `ab-steady-${round}-${index}` },
              (message) => progress(`${said}: ${message}`),
            ),
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
          `${said}: ingest ${ingest.perSecond}/s at ${ingest.cpuMicrosPerWebhook} µs, steady p99 ${steady.p99Ms} ms (end-to-end ${steady.endToEnd.p99Ms} ms), drain ${drain.perSecond}/s at ${drain.cpuMicrosPerEvent} µs`,
        );
        runs.push({ build: build.label, store: backend.store, round, ingest, steady, drain });
      }
    }
  }
  return { builds: builds.map((build) => build.label), bare, runs };
}

/** A row of the summary: its label, how a run's figure is read (given its round's bare figures), and its decimals. */
type Figure = readonly [label: string, pick: (run: InterleavedRun, bare: ServerLoadFigures | undefined) => number | null, decimals: number];

const FIGURES: readonly Figure[] = [
  ['ingest, webhooks/s', (run) => run.ingest.perSecond, 0],
  [
    `ingest, × bare (target ≥ ${TARGETS.ingestVsBare.min})`,
    (run, bare) => (bare && bare.perSecond > 0 ? run.ingest.perSecond / bare.perSecond : null),
    2,
  ],
  ['ingest, runner CPU µs per webhook', (run) => run.ingest.cpuMicrosPerWebhook, 0],
  ['ingest, p99 ms', (run) => run.ingest.p99Ms, 2],
  ['drain, events/s', (run) => run.drain.perSecond, 0],
  ['drain, runner CPU µs per event', (run) => run.drain.cpuMicrosPerEvent, 0],
  // Latencies measured short of the rate (a busy machine) are not the steady row's: this row tells.
  [`steady, webhooks/s (asked ${STEADY_RATE.toLocaleString('en')})`, (run) => run.steady.perSecond, 0],
  ['steady, ingest p99 ms', (run) => run.steady.p99Ms, 2],
  ['steady, end-to-end p99 ms', (run) => run.steady.endToEnd.p99Ms, 2],
  ['steady, not delivered (must be 0)', (run) => run.steady.endToEnd.notDelivered, 0],
];

/**
 * Per store, one row per figure; per build its rounds' figures in order and their mean; then the mean's change
 * from the first build (before) to the last (after), in percent. A figure not measured reads `–`.
 */
export function renderInterleaved(result: InterleavedResult, sizes: InterleavedSizes): string {
  const { builds, runs } = result;
  const stores = [...new Set(runs.map((run) => run.store))];
  const bareOf = (roundNumber: number) => result.bare.find((bare) => bare.round === roundNumber)?.figures;
  const rounds = Array.from({ length: sizes.rounds }, (_, i) => i + 1);
  const cells = (store: string, [, pick, decimals]: Figure) => {
    const means = builds.map((build) => {
      const values = rounds.map((roundNumber) => {
        const run = runs.find((candidate) => candidate.build === build && candidate.store === store && candidate.round === roundNumber);
        return run ? pick(run, bareOf(roundNumber)) : null;
      });
      return { values, mean: mean(values) };
    });
    const shown = (value: number | null) => (value === null ? '–' : String(round(value, decimals)));
    const before = means[0]?.mean ?? null;
    const after = means[means.length - 1]?.mean ?? null;
    return [...means.flatMap(({ values, mean }) => [values.map(shown).join(' / '), shown(mean)]), change(before, after, shown)];
  };
  const bareRates = rounds.map((roundNumber) => bareOf(roundNumber)?.perSecond ?? null);
  const bareMean = mean(bareRates);
  const roundsHeader = sizes.rounds === 1 ? 'round 1' : `round 1 / … / ${sizes.rounds}`;
  return [
    `Ingest: destination paused, ${CONNECTIONS} connections, ${sizes.loadSeconds} s after a ${sizes.warmupSeconds} s warm-up, beside the bare node:http server under the same load once per round. Steady: ${STEADY_RATE.toLocaleString('en')} webhooks/s for ${sizes.steadySeconds} s delivering to the fake CleverTap (the fewest of 8/16/32/64 connections reaching 95 % of the rate); end-to-end is the 200 at the load generator → the record stored by the fake. Drain of ${sizes.drainEvents.toLocaleString('en')} events. ${sizes.rounds === 1 ? 'One round' : `${sizes.rounds} rounds, builds alternating`}.`,
    '',
    `Bare node:http, webhooks/s, ${roundsHeader}: ${bareRates.map((rate) => rate ?? '–').join(' / ')} (mean ${bareMean === null ? '–' : Math.round(bareMean)})`,
    '',
    `| store | row | ${builds.map((build) => `${build}, ${roundsHeader} | ${build}, mean`).join(' | ')} | mean, before → after |`,
    `|---|---|${builds.map(() => '--:|--:').join('|')}|--:|`,
    ...stores.flatMap((store) => FIGURES.map((figure) => `| ${store} | ${figure[0]} | ${cells(store, figure).join(' | ')} |`)),
  ].join('\n');
}

/** The mean of the figures measured, or null when none was. */
export function mean(values: readonly (number | null)[]): number | null {
  const measured = values.filter((value): value is number => value !== null);
  return measured.length === 0 ? null : measured.reduce((sum, value) => sum + value, 0) / measured.length;
}

/** `before → after (+3.8%)`, the percent from the unrounded means, and only when both were measured and before is not 0. */
export function change(before: number | null, after: number | null, shown: (value: number | null) => string): string {
  if (before === null && after === null) return '–';
  const arrow = `${shown(before)} → ${shown(after)}`;
  if (before === null || after === null || before === 0) return arrow;
  const percent = round(((after - before) / before) * 100, 1);
  return `${arrow} (${percent > 0 ? '+' : percent < 0 ? '−' : ''}${Math.abs(percent)}%)`;
}
