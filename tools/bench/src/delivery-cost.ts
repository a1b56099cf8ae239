/**
 * The drain's JavaScript cost per event, without the store and the network (issue 28): stored RENEWAL bodies
 * through the real per-event path, stage by stage, in this one process:
 *
 *   decode        the source's decodeStored (the body as the store keeps it → SubscriptionEvent)
 *   filter        the plugin's filter, and the ordering guard's profile when the settings send state
 *   build         the CleverTap plugin's buildRequests for batches of its batch size (records, then the body text)
 *     stringify   of which: JSON.stringify of the same records (measured apart, on records read back from the bodies)
 *   answer        the plugin's parseResponse of the fake CleverTap's success answer for each request
 *   loop          the engine's whole DestinationLoop over a store stub and an in-process transport: all of the above,
 *                 plus what the engine itself does per batch and per outcome (leasing bookkeeping, the lease
 *                 keeper, outcomes read and matched, store updates made, logging decisions)
 *   engine        loop − (decode + filter + build + answer): the engine's own share
 *
 * CPU µs per event (user + system, so the collector's work in those stages counts), the median of several rounds
 * after a warm-up, and the collector's pause time per event. `--save NAME` keeps the figures in
 * bench/tmp/delivery-cost-NAME.json; `--compare NAME` prints them beside this run's (before → after).
 * Profile with `node --cpu-prof --cpu-prof-dir=bench/tmp tools/bench/dist/delivery-cost.js`; `--only loop` runs that stage alone.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { clevertapPlugin, type CleverTapSettings } from '@ferry/clevertap';
import {
  sendsState,
  silentLogger,
  stateProfileOf,
  systemClock,
  type DeliveryQueue,
  type DeliveryRequest,
  type DeliveryUpdate,
  type HttpResult,
  type LeasedDelivery,
  type LeaseRequest,
  type Planned,
  type StateVerdict,
  type StoredPauses,
  type StateMarks,
  type SubscriptionEvent,
  type Transport,
} from '@ferry/core';
import { Dispatcher, type DestinationInstance } from '@ferry/engine';
import { decodeStoredRevenueCatWebhook, REVENUECAT_SOURCE_ID } from '@ferry/revenuecat';
import { BENCH_ACCOUNT_ID, BENCH_PASSCODE, DESTINATION_ID, webhookText } from './payload';
import { cpuMicrosSince } from './stats';

const RESULTS_DIR = path.resolve(__dirname, '../../../bench/tmp');

const STAGES = ['decode', 'filter', 'build', 'stringify', 'answer', 'loop', 'engine'] as const;
type Stage = (typeof STAGES)[number];

interface StageFigures {
  /** CPU µs per event, the median round. */
  readonly cpuMicros: number;
  /** The collector's pause time in µs per event, in that round. */
  readonly gcMicros: number;
}

interface Figures {
  readonly events: number;
  readonly rounds: number;
  readonly settings: string;
  readonly node: string;
  readonly stages: Record<Stage, StageFigures>;
}

const USAGE = `Usage: node tools/bench/dist/delivery-cost.js [--events N] [--rounds N] [--settings default|full]
       [--save NAME] [--compare NAME] [--only decode|filter|build|stringify|answer|loop]

The drain's JavaScript per event, stage by stage, without store or network (see the comment at the top of
tools/bench/src/delivery-cost.ts). Prints figures; --save keeps them in bench/tmp/delivery-cost-NAME.json.`;

/** The command line, checked: a wrong flag or value prints what is wrong and the usage, and exits 2. */
function readArgs() {
  try {
    const { values } = parseArgs({
      options: {
        events: { type: 'string', default: '20000' },
        rounds: { type: 'string', default: '7' },
        // `default`: the bench's runner config (no profile sync, no Charged); `full`: both on, so every record path runs.
        settings: { type: 'string', default: 'default' },
        save: { type: 'string' },
        compare: { type: 'string' },
        /** Runs only this stage (for a profile of it): decode, filter, build, stringify, answer or loop. */
        only: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const events = Number(values.events);
    const rounds = Number(values.rounds);
    if (!Number.isInteger(events) || events < 1) throw new Error(`--events: expected a positive integer, got ${values.events}`);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: expected a positive integer, got ${values.rounds}`);
    if (values.only !== undefined && (!(STAGES as readonly string[]).includes(values.only) || values.only === 'engine'))
      throw new Error(`--only: expected one of ${STAGES.filter((stage) => stage !== 'engine').join(', ')}, got ${values.only}`);
    if (values.settings !== 'default' && values.settings !== 'full')
      throw new Error(`--settings: expected default or full, got ${values.settings}`);
    return { args: values, events, rounds };
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const { args, events: EVENTS, rounds: ROUNDS } = readArgs();

const settings: CleverTapSettings = clevertapPlugin.settings.parse({
  accountId: BENCH_ACCOUNT_ID,
  passcode: BENCH_PASSCODE,
  endpoint: 'http://127.0.0.1:9',
  ...(args.settings === 'full' ? { profileSync: true, chargedEvent: true } : {}),
});
const BATCH_SIZE = clevertapPlugin.capabilities.batch.maxItems;
const guardsState = sendsState(clevertapPlugin, settings);

const text = webhookText();
const bodies = Array.from({ length: EVENTS }, (_, index) => text(`cost-${String(index).padStart(8, '0')}`));

/** The fake CleverTap's answer to a request all of whose records it took. */
function successAnswer(request: DeliveryRequest): HttpResult {
  const processed = request.records?.length ?? request.deliveryIds.length;
  return {
    kind: 'response',
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'success', processed, unprocessed: [] }),
  };
}

/** The collector's pause time (ms) reported since the last call. */
const gcPauses = (() => {
  let totalMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) totalMs += entry.duration;
  }).observe({ entryTypes: ['gc'] });
  return async () => {
    await new Promise((resolve) => setImmediate(resolve)); // the observer's entries arrive on a later turn
    const taken = totalMs;
    totalMs = 0;
    return taken;
  };
})();

interface Round {
  readonly cpuMicros: number;
  readonly gcMs: number;
}

/** Runs `work` once to warm up, then `ROUNDS` times; the median round by CPU, per event. */
async function measure(work: () => unknown | Promise<unknown>): Promise<StageFigures> {
  await work();
  await gcPauses();
  const rounds: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    await work();
    const cpuMicros = cpuMicrosSince(start);
    rounds.push({ cpuMicros, gcMs: await gcPauses() });
  }
  rounds.sort((a, b) => a.cpuMicros - b.cpuMicros);
  const median = rounds[Math.floor(rounds.length / 2)];
  return { cpuMicros: median.cpuMicros / EVENTS, gcMicros: (median.gcMs * 1000) / EVENTS };
}

function batchesOf<T>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += BATCH_SIZE) batches.push(items.slice(start, start + BATCH_SIZE));
  return batches;
}

// Each stage's input, made once by the stage before, so a stage's figure is its own work only.
const decode = (body: string) => decodeStoredRevenueCatWebhook(body);
const events: SubscriptionEvent[] = bodies.map(decode);
const plan = (event: SubscriptionEvent, index: number): Planned => {
  const skip = clevertapPlugin.filter(event, settings);
  if (skip) throw new Error(`the bench event is skipped: ${skip.rule}: ${skip.reason}`);
  const profile = guardsState ? stateProfileOf(clevertapPlugin, settings, event) : undefined;
  return { deliveryId: `delivery-${index}`, event, webhookBody: bodies[index], ...(profile !== undefined && { carriesState: true }) };
};
const planned: Planned[] = events.map(plan);
const batches = batchesOf(planned);
const build = (batch: readonly Planned[]) => clevertapPlugin.buildRequests(batch, settings, { nowMs: systemClock.now() });
const requests: DeliveryRequest[] = batches.flatMap(build);
const records: unknown[] = requests.flatMap((request) => (JSON.parse(request.body) as { d: unknown[] }).d);
const answers = requests.map((request) => ({ request, result: successAnswer(request) }));

function checkAllDelivered(): void {
  let delivered = 0;
  for (const { request, result } of answers) {
    const outcomes = clevertapPlugin.parseResponse(request, result, settings);
    delivered += outcomes.filter((outcome) => outcome.type === 'delivered').length;
  }
  if (delivered !== EVENTS) throw new Error(`the success answers delivered ${delivered} of ${EVENTS} events`);
}

/**
 * A delivery queue with nothing behind it: it hands out the bodies in order, within the lease's limit and bytes as the
 * store does, keeps every lease held, and counts the updates, which must all say delivered.
 */
class StubQueue implements Pick<DeliveryQueue, 'lease' | 'renewLeases' | 'heldLeases' | 'complete' | 'nextDueAtMs'> {
  private next = 0;
  private completed = 0;
  private finished!: () => void;
  private failed!: (error: Error) => void;
  readonly done = new Promise<void>((resolve, reject) => {
    this.finished = resolve;
    this.failed = reject;
  });

  async lease({ limit, maxBytes = Infinity }: LeaseRequest): Promise<LeasedDelivery[]> {
    const leased: LeasedDelivery[] = [];
    let bytes = 0;
    while (this.next < bodies.length && leased.length < limit) {
      const body = bodies[this.next];
      if (leased.length > 0 && bytes + body.length > maxBytes) break;
      bytes += body.length;
      leased.push({
        id: `delivery-${this.next}`,
        eventId: `cost-${this.next}`,
        destinationId: DESTINATION_ID,
        attempts: 0,
        windowStartMs: 0,
        body,
        source: REVENUECAT_SOURCE_ID,
      });
      this.next += 1;
    }
    return leased;
  }

  async renewLeases({ deliveryIds }: { readonly deliveryIds: readonly string[] }): Promise<string[]> {
    return [...deliveryIds];
  }

  async heldLeases(deliveryIds: readonly string[]): Promise<string[]> {
    return [...deliveryIds];
  }

  async complete(updates: readonly DeliveryUpdate[]): Promise<void> {
    const notDelivered = updates.find((update) => update.state !== 'delivered');
    if (notDelivered) this.failed(new Error(`delivery ${notDelivered.deliveryId} ended ${notDelivered.state}: ${notDelivered.lastError}`));
    this.completed += updates.length;
    if (this.completed >= bodies.length) this.finished();
  }

  async nextDueAtMs(): Promise<number | undefined> {
    return undefined;
  }
}

const coordination: StoredPauses & StateMarks = {
  pauseDestination: () => Promise.reject(new Error('the delivery-cost bench pauses nothing')),
  resumeDestination: async () => undefined,
  destinationPauses: async () => [],
  acceptedStates: async () => [],
  // Every candidate carries its state: the profile record is built and sent, as for a first event per profile.
  claimSubscriptionState: async (_destinationId, candidates) =>
    new Map(candidates.map(({ deliveryId }) => [deliveryId, 'state' as StateVerdict])),
};

const transport: Transport = {
  send: async (request) => successAnswer(request as DeliveryRequest),
  close: async () => undefined,
};

const destination: DestinationInstance = {
  id: DESTINATION_ID,
  plugin: clevertapPlugin,
  settings,
  concurrency: 4,
  timeoutMs: 10_000,
};

/** The engine's destination loop, from the first lease to the last update stored. */
async function drainThroughLoop(): Promise<void> {
  const queue = new StubQueue();
  const dispatcher = new Dispatcher({
    queue: queue as unknown as DeliveryQueue,
    coordination,
    transport,
    clock: systemClock,
    logger: silentLogger,
    decode: (body) => decode(body),
    destinations: [destination],
    options: { lingerMs: 0, pollMs: 50 },
  });
  dispatcher.start();
  try {
    await queue.done;
  } finally {
    await dispatcher.stop();
  }
}

async function main(): Promise<void> {
  checkAllDelivered();
  const work: Record<Exclude<Stage, 'engine'>, () => unknown> = {
    decode: () => bodies.map(decode),
    filter: () => events.map(plan),
    build: () => batches.map(build),
    stringify: () => records.map((record) => JSON.stringify(record)),
    answer: () => answers.map(({ request, result }) => clevertapPlugin.parseResponse(request, result, settings)),
    loop: drainThroughLoop,
  };
  if (args.only !== undefined) {
    const figures = await measure(work[args.only as keyof typeof work]);
    console.log(`${args.only}: ${fixed(figures.cpuMicros)} CPU µs per event, ${fixed(figures.gcMicros)} GC µs`);
    return;
  }
  const stages: Partial<Record<Stage, StageFigures>> = {};
  for (const [stage, run] of Object.entries(work)) stages[stage as Stage] = await measure(run);
  const { decode: decoded, filter: filtered, build: built, answer: read, loop } = stages as Record<Stage, StageFigures>;
  const parts = decoded.cpuMicros + filtered.cpuMicros + built.cpuMicros + read.cpuMicros;
  const partsGc = decoded.gcMicros + filtered.gcMicros + built.gcMicros + read.gcMicros;
  stages.engine = { cpuMicros: loop.cpuMicros - parts, gcMicros: loop.gcMicros - partsGc };
  const figures: Figures = {
    events: EVENTS,
    rounds: ROUNDS,
    settings: args.settings!,
    node: process.version,
    stages: stages as Figures['stages'],
  };

  const baseline = args.compare === undefined ? undefined : readFigures(args.compare);
  if (baseline && baseline.settings !== figures.settings)
    throw new Error(`--compare ${args.compare}: it was measured with --settings ${baseline.settings}, this run with ${figures.settings}`);
  console.log(
    `delivery cost per event: ${EVENTS} RENEWAL events, batches of ${BATCH_SIZE}, settings ${args.settings}, median of ${ROUNDS} rounds`,
  );
  console.log(baseline ? `stage       CPU µs (${args.compare} → now)      GC µs (${args.compare} → now)` : 'stage       CPU µs   GC µs');
  for (const stage of STAGES) {
    const now = figures.stages[stage];
    const before = baseline?.stages[stage];
    const label = stage === 'stringify' ? '  stringify' : stage;
    console.log(
      before
        ? `${label.padEnd(11)} ${fixed(before.cpuMicros)} → ${fixed(now.cpuMicros)}  (${change(before.cpuMicros, now.cpuMicros)})   ${fixed(before.gcMicros)} → ${fixed(now.gcMicros)}`
        : `${label.padEnd(11)} ${fixed(now.cpuMicros)}  ${fixed(now.gcMicros)}`,
    );
  }
  if (args.save !== undefined) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = resultsFile(args.save);
    writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`saved to ${path.relative(process.cwd(), file)}`);
  }
}

function resultsFile(name: string): string {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`--save/--compare: a name of letters, digits, '.', '_' or '-', got "${name}"`);
  return path.join(RESULTS_DIR, `delivery-cost-${name}.json`);
}

function readFigures(name: string): Figures {
  return JSON.parse(readFileSync(resultsFile(name), 'utf8')) as Figures;
}

function fixed(micros: number): string {
  return micros.toFixed(1).padStart(6);
}

function change(before: number, after: number): string {
  return `${after <= before ? '' : '+'}${Math.round(((after - before) / before) * 100)} %`.padStart(6);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
