import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeCleverTap, type FakeCleverTap } from '@ferry/testkit';
import { scalingChart } from './chart';
import type { WebhookLoad } from './load';
import { bareServerLoad, drainBacklog, STEADY_RATE, steadyDelivery, underLoad } from './measure';
import { BENCH_ACCOUNT_ID, BENCH_PASSCODE } from './payload';
import { benchPostgres } from './postgres';
import { ServiceProcess } from './processes';
import { hotSpots, readNewestProfile } from './profile';
import {
  renderBench,
  TARGETS,
  updateMarkdownFile,
  type BackendReport,
  type BenchReport,
  type DrainFigures,
  type ServerLoadFigures,
  type ScalingRow,
  type SteadyFigures,
} from './report';
import { eraseUnderLoad, renderEraseUnderLoad, type EraseUnderLoadFigures, type EraseUnderLoadSizes } from './erase-under-load';
import { describeDiskSync, diskSyncLatency } from './disk';
import { otherBuild, renderInterleaved, runInterleaved, thisBuild, type InterleavedSizes } from './interleaved';
import { postgresBackend, removeSqliteStores, sqliteBackend, type Backend } from './backends';
import { withRunner, type RunnerSetup } from './runner-config';
import { round } from './stats';
import { fillStore, storedEvents } from './store-fill';

const USAGE = `Usage: npm run bench [-- [--quick] [--sqlite-only] [--profile] [--label <text>] [--baseline <file>] [--render-only]]
       npm run bench -- --scenario erase-under-load [--quick] [--sqlite-only]
       npm run bench -- --scenario interleaved --against <checkout> [--rounds N] [--quick] [--sqlite-only]

Benchmarks the runner (apps/runner/dist/main.js, a child process) against a bare node:http server, on
SQLite and on Postgres (DATABASE_URL, else a throwaway server from tools/pg-throwaway.sh when Postgres is
installed). Writes bench/report.json, bench/scaling.svg and the generated section of BENCHMARKS.md, and
prints that section.

  --quick            smaller sizes and shorter loads: about a minute, SQLite only unless DATABASE_URL is set;
                     writes bench/tmp/quick/ and leaves the reference figures alone
  --sqlite-only      skip the Postgres rows
  --profile          run the runner of the ingest and drain rows under node --cpu-prof and report its hottest functions
  --label <text>     what this run measures, kept in report.json (e.g. "main at c18a8e2, before issue 16"); when
                     the report serves as a baseline, the section's "Before:" line names it
  --baseline <file>  the report.json of an earlier run (of the code before a change): the section shows its
                     figures as before → after. Default: bench/baseline.json when it exists, none for --quick
  --render-only      measure nothing: write scaling.svg and BENCHMARKS.md again from bench/report.json (and the
                     baseline, as above)

  --scenario erase-under-load
                     instead of the report: webhook latency at 1,000/s while the runner's retention removes
                     200,000 events and while an erase removes a user's 100,000 (spread among as many others),
                     beside the same load with neither running; prints the three side by side and writes
                     bench/tmp/erase-under-load.json (--quick: 10,000 and 5,000)
  --scenario interleaved --against <checkout>
                     before and after, interleaved: the ingest row (destination paused, as × the bare node:http
                     server measured at the start of each round), the steady row (1,000 webhooks/s delivering:
                     ingest and end-to-end p99) and the drain of a 100,000-event backlog, on SQLite and on
                     Postgres (unless --sqlite-only), on the other checkout's build (built there first) and on
                     this one in turn, --rounds times (default 2); prints each figure per round, the means and
                     before → after, and writes bench/tmp/interleaved.json (--quick: 4 s loads, 5 s steady,
                     10,000 events)

A before/after comparison: run \`npm run bench -- --label "main at <commit>, before <change>"\` on the code
before the change, copy bench/report.json to bench/baseline.json, then run \`npm run bench\` on the change.`;

const ROOT = path.resolve(__dirname, '../../..');
const OUT_DIR = path.join(ROOT, 'bench');
const WORK_DIR = path.join(OUT_DIR, 'tmp', 'bench');
/** A quick run's report and chart: the reference figures in bench/ and BENCHMARKS.md come from full runs only. */
const QUICK_DIR = path.join(OUT_DIR, 'tmp', 'quick');
/** The report of the run before a change, when there is one: full runs compare with it unless told otherwise. */
const DEFAULT_BASELINE = path.join(OUT_DIR, 'baseline.json');

interface Sizes {
  readonly loadSeconds: number;
  readonly warmupSeconds: number;
  readonly steadySeconds: number;
  readonly drainEvents: number;
  /** Stored events at each scaling row. */
  readonly scaling: readonly number[];
  readonly scalingLoadSeconds: number;
}

const FULL: Sizes = {
  loadSeconds: 15,
  warmupSeconds: 3,
  steadySeconds: 20,
  drainEvents: 100_000,
  scaling: [10_000, 100_000, 1_000_000],
  scalingLoadSeconds: 10,
};
const QUICK: Sizes = {
  loadSeconds: 4,
  warmupSeconds: 1,
  steadySeconds: 5,
  drainEvents: 10_000,
  scaling: [5_000, 25_000, 100_000],
  scalingLoadSeconds: 2,
};
const ERASE_UNDER_LOAD: EraseUnderLoadSizes = { erasedEvents: 100_000, expiredEvents: 200_000, baselineSeconds: 20 };
const ERASE_UNDER_LOAD_QUICK: EraseUnderLoadSizes = { erasedEvents: 5_000, expiredEvents: 10_000, baselineSeconds: 5 };
const SCENARIOS = ['erase-under-load', 'interleaved'] as const;
const INTERLEAVED: InterleavedSizes = { rounds: 2, loadSeconds: 10, warmupSeconds: 2, steadySeconds: 10, drainEvents: 100_000 };
const INTERLEAVED_QUICK: InterleavedSizes = { rounds: 2, loadSeconds: 4, warmupSeconds: 1, steadySeconds: 5, drainEvents: 10_000 };
const CONNECTIONS = 64;

class Bench {
  constructor(
    private readonly sizes: Sizes,
    private readonly fake: FakeCleverTap,
    private readonly profile: boolean,
  ) {}

  async bare(): Promise<ServerLoadFigures> {
    const figures = await bareServerLoad(WORK_DIR, path.join(WORK_DIR, 'bare-server.log'), this.load('bare'));
    progress(`bare node:http: ${figures.perSecond}/s, p99 ${figures.p99Ms} ms`);
    return figures;
  }

  async backend(backend: Backend): Promise<BackendReport> {
    const profileDirs = this.profile
      ? { ingest: path.join(WORK_DIR, `profile-${backend.store}-ingest`), drain: path.join(WORK_DIR, `profile-${backend.store}-drain`) }
      : undefined;
    const ingest = await this.ingestRow(backend, 'ingest', 'paused', profileDirs?.ingest);
    const ingestDelivering = await this.ingestRow(backend, 'ingest-delivering', this.fake.url);
    const steady = await this.steady(backend);
    const drain = await this.drain(backend, profileDirs?.drain);
    const scaling = await this.scaling(backend);
    const profiles = profileDirs && {
      ingest: hotSpots(readNewestProfile(profileDirs.ingest)),
      drain: hotSpots(readNewestProfile(profileDirs.drain)),
    };
    return { store: backend.store, description: backend.description, ingest, ingestDelivering, steady, drain, scaling, profiles };
  }

  /** As many webhooks as 64 connections get answered, on a fresh store. */
  private async ingestRow(
    backend: Backend,
    name: string,
    destination: RunnerSetup['destination'],
    cpuProfileDir?: string,
  ): Promise<ServerLoadFigures> {
    const storeUrl = await backend.freshStore(name);
    this.fake.reset();
    return withRunner(WORK_DIR, `${backend.store}-${name}`, { storeUrl, destination }, { cpuProfileDir }, async (runner) => {
      const figures = await underLoad(runner, { ...this.load(name), url: runner.url });
      progress(
        `${backend.store} ${name}: ${figures.perSecond}/s, p99 ${figures.p99Ms} ms, ${figures.cpuMicrosPerWebhook} µs CPU per webhook`,
      );
      return figures;
    });
  }

  /** The steady row (see `steadyDelivery`) on a fresh store. */
  private async steady(backend: Backend): Promise<SteadyFigures> {
    const storeUrl = await backend.freshStore('steady');
    return withRunner(WORK_DIR, `${backend.store}-steady`, { storeUrl, destination: this.fake.url }, undefined, (runner) =>
      steadyDelivery(runner, this.fake, { ...this.load('steady'), durationS: this.sizes.steadySeconds }, (message) =>
        progress(`${backend.store} ${message}`),
      ),
    );
  }

  /** A backlog stored while the destination could not send, then drained by a runner that can. */
  private async drain(backend: Backend, cpuProfileDir?: string): Promise<DrainFigures> {
    const events = this.sizes.drainEvents;
    const storeUrl = await backend.freshStore('drain');
    const fill = await fillStore(storeUrl, { count: events, idPrefix: 'backlog', state: 'paused', reason: 'bench backlog' });
    this.fake.reset();
    return withRunner(WORK_DIR, `${backend.store}-drain`, { storeUrl, destination: this.fake.url }, { cpuProfileDir }, async (runner) => {
      const figures = await drainBacklog(runner, this.fake, events, fill);
      progress(`${backend.store} drain: ${events} events in ${figures.seconds} s, ${figures.perSecond}/s`);
      return figures;
    });
  }

  /** Ingest on a store filled to each size in turn, each on a freshly started runner. */
  private async scaling(backend: Backend): Promise<ScalingRow[]> {
    const storeUrl = await backend.freshStore('scaling');
    const rows: ScalingRow[] = [];
    let stored = 0;
    for (const size of this.sizes.scaling) {
      const count = size - stored;
      let fill: ScalingRow['fill'] = null;
      if (count > 0) {
        progress(`${backend.store} scaling: filling ${count} events up to ${size}`);
        // Historic events: their deliveries final (skipped), as delivered ones would be, so nothing is left to send.
        const filled = await fillStore(storeUrl, { count, idPrefix: `history-${size}`, state: 'skipped', reason: 'bench: historic event' });
        fill = { events: filled.events, seconds: filled.seconds, perSecond: filled.perSecond };
        stored = filled.storedEvents;
      }
      const load = await withRunner(
        WORK_DIR,
        `${backend.store}-scaling-${size}`,
        { storeUrl, destination: 'paused' },
        undefined,
        (runner) => underLoad(runner, { ...this.load(`scaling-${size}`), url: runner.url, durationS: this.sizes.scalingLoadSeconds }),
      );
      rows.push({ storedEvents: stored, fill, load });
      progress(`${backend.store} scaling at ${stored} events: ${load.perSecond}/s, p99 ${load.p99Ms} ms, peak RSS ${load.peakRssMb} MB`);
      stored = await storedEvents(storeUrl);
    }
    return rows;
  }

  private load(idPrefix: string): Omit<WebhookLoad, 'url'> {
    return { connections: CONNECTIONS, durationS: this.sizes.loadSeconds, warmupS: this.sizes.warmupSeconds, idPrefix };
  }
}

/** Postgres, unless left out: DATABASE_URL's server or a throwaway one (stopped at clean-up); else why it is skipped. */
async function postgresUnless(skip: { readonly sqliteOnly: boolean; readonly quick: boolean }): Promise<Backend | string> {
  if (skip.sqliteOnly) return 'Postgres (--sqlite-only)';
  if (skip.quick && !process.env.DATABASE_URL) return 'Postgres (--quick without DATABASE_URL)';
  const postgres = await benchPostgres();
  if (!postgres) return 'Postgres (DATABASE_URL is not set and Postgres is not installed)';
  cleanups.push(() => postgres.close());
  return postgresBackend(postgres);
}

/** An empty work folder and a fake CleverTap (closed by `cleanUp`): how every run starts. */
async function freshRun(): Promise<FakeCleverTap> {
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const fake = await startFakeCleverTap({ accounts: { [BENCH_ACCOUNT_ID]: BENCH_PASSCODE } });
  cleanups.push(() => fake.close());
  return fake;
}

/** SQLite, and Postgres unless `skip` says otherwise (saying why on stderr). */
async function scenarioBackends(skip: { readonly sqliteOnly: boolean; readonly quick: boolean }): Promise<Backend[]> {
  const postgres = await postgresUnless(skip);
  if (typeof postgres === 'string') progress(`without ${postgres}: SQLite only`);
  return typeof postgres === 'string' ? [sqliteBackend(WORK_DIR)] : [sqliteBackend(WORK_DIR), postgres];
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      'sqlite-only': { type: 'boolean' },
      profile: { type: 'boolean' },
      'render-only': { type: 'boolean' },
      label: { type: 'string' },
      baseline: { type: 'string' },
      scenario: { type: 'string' },
      against: { type: 'string' },
      rounds: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (flags.help) return void process.stdout.write(`${USAGE}\n`);
  const quick = flags.quick === true;
  if (flags.scenario !== undefined) {
    if (!(SCENARIOS as readonly string[]).includes(flags.scenario))
      throw new Error(`unknown --scenario ${JSON.stringify(flags.scenario)}: one of ${SCENARIOS.join(', ')}`);
    if (flags.scenario === 'interleaved') {
      if (flags.against === undefined) throw new Error('--scenario interleaved needs --against <checkout>: the build to compare with');
      const rounds = flags.rounds === undefined ? undefined : Number(flags.rounds);
      if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20))
        throw new Error(`--rounds must be a whole number from 1 to 20, got ${JSON.stringify(flags.rounds)}`);
      const sizes = quick ? INTERLEAVED_QUICK : INTERLEAVED;
      return runInterleavedScenario(flags.against, rounds === undefined ? sizes : { ...sizes, rounds }, flags['sqlite-only'] === true);
    }
    return runEraseUnderLoad(quick ? ERASE_UNDER_LOAD_QUICK : ERASE_UNDER_LOAD, quick, flags['sqlite-only'] === true);
  }
  // Read before measuring: a wrong path should fail now, not after ten minutes of load.
  const baselineFile = flags.baseline ?? (!quick && existsSync(DEFAULT_BASELINE) ? DEFAULT_BASELINE : undefined);
  const baseline = baselineFile === undefined ? undefined : readBaseline(baselineFile);
  if (flags['render-only']) {
    if (flags.label !== undefined) throw new Error('--label names a measured run in its report.json: --render-only measures nothing');
    return publish(readReport(path.join(OUT_DIR, 'report.json'), 'the report'), OUT_DIR, false, baseline);
  }
  const sizes = quick ? QUICK : FULL;
  const started = performance.now();
  const loadAverageAtStart = os.loadavg().map((load) => round(load, 1));
  const skipped: string[] = [];
  const fake = await freshRun();
  try {
    const bench = new Bench(sizes, fake, flags.profile === true);
    const bare = await bench.bare();
    const backends = [await bench.backend(sqliteBackend(WORK_DIR))];
    const postgres = await postgresUnless({ sqliteOnly: flags['sqlite-only'] === true, quick });
    if (typeof postgres === 'string') skipped.push(postgres);
    else backends.push(await bench.backend(postgres));

    const cpus = os.cpus();
    const report: BenchReport = {
      generatedAt: new Date().toISOString(),
      // Left out of the JSON when unset.
      label: flags.label || undefined,
      mode: quick ? 'quick' : 'full',
      wallSeconds: Math.round((performance.now() - started) / 1000),
      machine: {
        cpus: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        loadAverageAtStart,
        loadAverageAtEnd: os.loadavg().map((load) => round(load, 1)),
      },
      settings: { connections: CONNECTIONS, loadSeconds: sizes.loadSeconds, steadyRate: STEADY_RATE, steadySeconds: sizes.steadySeconds },
      bare,
      backends,
      skipped,
    };
    publish(report, quick ? QUICK_DIR : OUT_DIR, true, baseline);
  } finally {
    await cleanUp();
  }
}

/** The erase-under-load scenario on each store, its tables on stdout and its figures in bench/tmp/erase-under-load.json. */
async function runEraseUnderLoad(sizes: EraseUnderLoadSizes, quick: boolean, sqliteOnly: boolean): Promise<void> {
  const fake = await freshRun();
  try {
    const backends = await scenarioBackends({ sqliteOnly, quick });
    const figures: EraseUnderLoadFigures[] = [];
    for (const backend of backends) {
      const storeUrl = await backend.freshStore('erase-under-load');
      figures.push(await eraseUnderLoad(WORK_DIR, storeUrl, backend.store, fake.url, sizes, progress));
    }
    const file = path.join(OUT_DIR, 'tmp', 'erase-under-load.json');
    writeFileSync(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), sizes, figures }, null, 2)}\n`);
    process.stdout.write(`${figures.map(renderEraseUnderLoad).join('\n\n')}\n\nWritten: ${path.relative(ROOT, file)}\n`);
  } finally {
    await cleanUp();
  }
}

/** The interleaved before/after scenario: its table on stdout and its figures in bench/tmp/interleaved.json. */
async function runInterleavedScenario(against: string, sizes: InterleavedSizes, sqliteOnly: boolean): Promise<void> {
  const builds = [otherBuild(against), thisBuild()];
  const fake = await freshRun();
  try {
    // A before/after wants both stores even in a quick run.
    const backends = await scenarioBackends({ sqliteOnly, quick: false });
    const loadAverageAtStart = os.loadavg().map((load) => round(load, 1));
    const diskSync = diskSyncLatency(WORK_DIR);
    progress(describeDiskSync(diskSync));
    const result = await runInterleaved(builds, backends, sizes, WORK_DIR, fake, progress);
    const file = path.join(OUT_DIR, 'tmp', 'interleaved.json');
    const machine = { node: process.version, loadAverageAtStart, loadAverageAtEnd: os.loadavg().map((load) => round(load, 1)), diskSync };
    writeFileSync(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), sizes, machine, ...result }, null, 2)}\n`);
    process.stdout.write(`${renderInterleaved(result, sizes)}\n\n${describeDiskSync(diskSync)}\n\nWritten: ${path.relative(ROOT, file)}\n`);
  } finally {
    await cleanUp();
  }
}

/** The report of an earlier run to compare with, said on stderr so a default baseline is not a surprise. */
function readBaseline(file: string): BenchReport {
  const baseline = readReport(path.resolve(file), 'the baseline');
  const named = `${baseline.generatedAt}${baseline.label ? `, ${baseline.label}` : ''}`;
  progress(`before → after against ${file === DEFAULT_BASELINE ? path.relative(ROOT, file) : file} (${named})`);
  return baseline;
}

/** A BenchReport written by an earlier run, refused with the reason when it does not look like one. */
function readReport(file: string, what: string): BenchReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${what} ${file} could not be read as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const report = parsed as Partial<BenchReport> | null;
  if (typeof report?.generatedAt !== 'string' || typeof report.bare !== 'object' || !Array.isArray(report.backends))
    throw new Error(`${what} ${file} is not a bench report (bench/report.json): it lacks generatedAt, bare or backends`);
  return parsed as BenchReport;
}

/** The report (unless it is read back), the chart and the generated section: into BENCHMARKS.md for a full run, on stdout always. */
function publish(report: BenchReport, outDir: string, writeReport: boolean, baseline: BenchReport | undefined): void {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const write = (file: string, content: string) => {
    writeFileSync(path.join(outDir, file), content);
    written.push(path.relative(ROOT, path.join(outDir, file)));
  };
  if (writeReport) write('report.json', `${JSON.stringify(report, null, 2)}\n`);
  const series = report.backends.map((backend) => ({
    label: backend.store === 'sqlite' ? 'SQLite' : 'Postgres',
    points: backend.scaling.map((row) => ({
      storedEvents: row.storedEvents,
      perSecond: row.load.perSecond,
      peakRssMb: row.load.peakRssMb,
    })),
  }));
  write('scaling.svg', scalingChart(series, TARGETS.rssMb));
  const section = renderBench(report, baseline);
  if (report.mode === 'full') {
    updateMarkdownFile(path.join(ROOT, 'BENCHMARKS.md'), 'bench', section);
    written.push('BENCHMARKS.md');
  }
  process.stdout.write(`${section}\n\nWritten: ${written.join(', ')}\n`);
}

/** Run once, at the end or on Ctrl-C: no child process, throwaway Postgres or multi-GB store is left behind. */
const cleanups: (() => Promise<void>)[] = [() => ServiceProcess.killAll()];
async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0)) await step().catch((error: unknown) => progress(`cleanup failed: ${String(error)}`));
  if (existsSync(WORK_DIR)) removeSqliteStores(WORK_DIR);
}

process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
