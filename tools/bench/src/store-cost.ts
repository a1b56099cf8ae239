import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { NewDelivery, Store, StoreBackend } from '@ferry/core';
import { composeStore } from '@ferry/engine';
import { openStore } from '@ferry/store';
import { postgresBackend, removeSqliteStores, sqliteBackend, type Backend } from './backends';
import { DESTINATION_ID, ingestEvent } from './payload';
import { benchPostgres } from './postgres';
import { builtLibrary } from './checkout';
import { change, mean } from './interleaved';
import { cpuMicrosSince, round } from './stats';

const USAGE = `Usage: node tools/bench/dist/store-cost.js [--against DIR] [--events N] [--rounds N] [--sqlite-only]

What the store alone costs per event, without HTTP, parsing or a destination: the ingest port in group commits of
64 (what 64 connections make), then the drain's lease and outcome transactions in batches of 700 (a CleverTap
batch of 1.4 kB webhooks) through the engine's leasing queue. CPU µs per event of this process (Postgres's own CPU
is not in it), on this checkout's store and, with --against, another built checkout's, builds alternating each
round. Prints a Markdown table and writes bench/tmp/store-cost.json.`;

const ROOT = path.resolve(__dirname, '../../..');
const WORK_DIR = path.join(ROOT, 'bench', 'tmp', 'store-cost');
/** Ingests submitted at once: the group commit takes them in one transaction, as 64 waiting connections make it. */
const WAVE = 64;
/** Deliveries leased and settled at once: a full CleverTap batch of the bench's webhooks under the byte cap. */
const BATCH = 700;
const OWNER = 'store-cost';

/** A build's store: this checkout's or another's (`--against`), opened by its own code in its own schema. */
interface StoreBuild {
  readonly label: string;
  openStore(url: string): Promise<StoreBackend>;
  composeStore(backend: StoreBackend): Store;
}

export interface StoreCostRun {
  readonly build: string;
  readonly store: Backend['store'];
  readonly round: number;
  readonly ingestCpuMicros: number;
  readonly ingestPerSecond: number;
  readonly drainCpuMicros: number;
  readonly drainPerSecond: number;
}

function thisBuild(): StoreBuild {
  return { label: 'this checkout', openStore: (url) => openStore(url), composeStore: (backend) => composeStore(backend) };
}

function otherBuild(checkout: string): StoreBuild {
  const store = builtLibrary<Pick<StoreBuild, 'openStore'>>(checkout, 'libs/store');
  const engine = builtLibrary<Pick<StoreBuild, 'composeStore'>>(checkout, 'libs/engine');
  return {
    label: path.basename(path.resolve(checkout)),
    openStore: (url) => store.openStore(url),
    composeStore: (backend) => engine.composeStore(backend),
  };
}

/** CPU microseconds of this process per item, and items per second, for `work`. */
async function measured(items: number, work: () => Promise<void>): Promise<{ cpuMicros: number; perSecond: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const used = cpuMicrosSince(cpu);
  const seconds = (performance.now() - started) / 1000;
  return { cpuMicros: round(used / items), perSecond: Math.round(items / seconds) };
}

async function measure(build: StoreBuild, url: string, events: number, idPrefix: string) {
  const backend = await build.openStore(url);
  try {
    const event = ingestEvent();
    const deliveries: NewDelivery[] = [{ destinationId: DESTINATION_ID, state: 'pending' }];
    const ingest = await measured(events, async () => {
      for (let done = 0; done < events; done += WAVE) {
        const nowMs = Date.now();
        const wave = Array.from({ length: Math.min(WAVE, events - done) }, (_, i) => `${idPrefix}-${done + i}`);
        await Promise.all(wave.map((id) => backend.queue.ingest(event(id), deliveries, nowMs)));
      }
    });
    const { queue } = build.composeStore(backend);
    let drained = 0;
    const drain = await measured(events, async () => {
      for (;;) {
        const nowMs = Date.now();
        const leased = await queue.lease({ destinationId: DESTINATION_ID, limit: BATCH, nowMs, leaseMs: 60_000, owner: OWNER });
        if (leased.length === 0) break;
        const attempt = { startedAtMs: nowMs, durationMs: 5, status: 200, outcome: 'delivered' as const, error: null };
        await queue.complete(
          leased.map((delivery) => ({ deliveryId: delivery.id, state: 'delivered' as const, attempt })),
          Date.now(),
          OWNER,
        );
        drained += leased.length;
      }
    });
    if (drained !== events) throw new Error(`${build.label}: drained ${drained} of ${events} deliveries`);
    return { ingest, drain };
  } finally {
    await backend.close();
  }
}

function render(runs: readonly StoreCostRun[], events: number): string {
  const builds = [...new Set(runs.map((run) => run.build))];
  const stores = [...new Set(runs.map((run) => run.store))];
  const figures: [string, (run: StoreCostRun) => number][] = [
    ['ingest, CPU µs per event', (run) => run.ingestCpuMicros],
    ['ingest, events/s', (run) => run.ingestPerSecond],
    ['drain (lease + outcome), CPU µs per event', (run) => run.drainCpuMicros],
    ['drain (lease + outcome), events/s', (run) => run.drainPerSecond],
  ];
  const shown = (value: number | null) => (value === null ? '–' : String(Math.round(value)));
  const cells = (store: string, figure: (run: StoreCostRun) => number) => {
    const means = builds.map((build) => {
      const values = runs.filter((run) => run.store === store && run.build === build).map(figure);
      return { values, mean: mean(values) };
    });
    const columns = means.map(({ values, mean }) => `${values.join(' / ')} (mean ${shown(mean)})`);
    // Before → after, as the interleaved scenario words it, when another build was measured.
    return means.length > 1 ? [...columns, change(means[0].mean, means[means.length - 1].mean, shown)] : columns;
  };
  return [
    `${events} events per run, group commits of ${WAVE}, drain batches of ${BATCH}; rounds in order, builds alternating`,
    '',
    `| store | figure | ${builds.join(' | ')}${builds.length > 1 ? ' | mean, before → after' : ''} |`,
    `|---|---|${builds.map(() => '--:').join('|')}${builds.length > 1 ? '|--:' : ''}|`,
    ...stores.flatMap((store) => figures.map(([label, figure]) => `| ${store} | ${label} | ${cells(store, figure).join(' | ')} |`)),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      against: { type: 'string' },
      events: { type: 'string', default: '20000' },
      rounds: { type: 'string', default: '2' },
      'sqlite-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const events = Number(values.events);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(events) || events < WAVE)
    throw new Error(`--events must be a whole number of at least ${WAVE}, got "${values.events}"`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number of at least 1, got "${values.rounds}"`);
  mkdirSync(WORK_DIR, { recursive: true });
  const builds = [...(values.against === undefined ? [] : [otherBuild(values.against)]), thisBuild()];
  const postgres = values['sqlite-only'] ? undefined : await benchPostgres();
  const backends = [sqliteBackend(WORK_DIR), ...(postgres ? [postgresBackend(postgres)] : [])];
  const runs: StoreCostRun[] = [];
  try {
    for (let roundNumber = 1; roundNumber <= rounds; roundNumber += 1) {
      for (const backend of backends) {
        const order = roundNumber % 2 === 1 ? [...builds.entries()] : [...builds.entries()].reverse();
        for (const [index, build] of order) {
          const url = await backend.freshStore(`cost-${backend.store}-${index}-${roundNumber}`);
          const { ingest, drain } = await measure(build, url, events, `cost-${roundNumber}-${index}`);
          const run = {
            build: build.label,
            store: backend.store,
            round: roundNumber,
            ingestCpuMicros: ingest.cpuMicros,
            ingestPerSecond: ingest.perSecond,
            drainCpuMicros: drain.cpuMicros,
            drainPerSecond: drain.perSecond,
          };
          console.error(
            `round ${roundNumber}, ${backend.store}, ${build.label}: ingest ${run.ingestCpuMicros} µs, drain ${run.drainCpuMicros} µs`,
          );
          runs.push(run);
        }
      }
    }
  } finally {
    removeSqliteStores(WORK_DIR);
    await postgres?.close();
  }
  console.log(render(runs, events));
  writeFileSync(
    path.join(ROOT, 'bench', 'tmp', 'store-cost.json'),
    `${JSON.stringify({ generatedAt: new Date().toISOString(), events, runs }, null, 2)}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
