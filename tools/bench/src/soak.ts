import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import type { DeliveryRow, EventLog, EventRow, ListFilter } from '@ferry/core';
import { openStore } from '@ferry/store';
import { startFakeCleverTap, type FakeCleverTap } from '@ferry/testkit';
import { BENCH_ACCOUNT_ID, BENCH_AUTHORIZATION, BENCH_PASSCODE, ID_ATTRIBUTE, webhookText } from './payload';
import { ServiceProcess } from './processes';
import { updateMarkdownFile } from './report';
import { startRunner, type RunnerChild, type RunnerSetup } from './runner-config';
import { tallySoak, type SoakTally } from './soak-tally';

const USAGE = `Usage: npm run soak [-- [--events N] [--seed N]]

Sends N webhooks (default 50,000) to the runner (apps/runner/dist/main.js, SQLite) while a fake CleverTap
fails 20 % of uploads with 503, 5 % with 429, leaves 2 % hanging and resets 1 % after storing them; the
runner is killed with SIGKILL three times and restarted. Prints accepted, delivered, duplicated, dead and
lost, writes bench/soak.json and the soak section of BENCHMARKS.md, and exits 1 if anything is lost.`;

const ROOT = path.resolve(__dirname, '../../..');
const OUT_DIR = path.join(ROOT, 'bench');
const WORK_DIR = path.join(OUT_DIR, 'tmp', 'soak');
const STORE_FILE = path.join(WORK_DIR, 'soak.db');
const FAULTS = { status5xx: 0.2, status429: 0.05, hang: 0.02, resetAfterStore: 0.01 };
const KILLS = 3;
const SENDERS = 32;
/** Short timeouts and backoff, so the soak takes minutes: hung uploads time out after a second. */
const SETUP: Omit<RunnerSetup, 'storeUrl' | 'destination'> = { timeoutMs: 1_000, delivery: { baseDelayMs: 100, maxDelayMs: 2_000 } };
const SEND_DEADLINE_MS = 15 * 60_000;
const DELIVERY_DEADLINE_MS = 10 * 60_000;

interface SoakReport extends SoakTally {
  readonly generatedAt: string;
  readonly events: number;
  readonly seed: number;
  readonly faults: typeof FAULTS;
  readonly kills: number;
  /** Webhook posts that failed (runner down, connection reset) and were sent again, as RevenueCat would. */
  readonly resends: number;
  /** Upload requests the fake CleverTap answered with each fault, and without one. */
  readonly uploads: Readonly<Record<string, number>>;
  /** Deliveries still waiting at the end (not final): part of `lost`. */
  readonly unfinishedDeliveries: number;
  readonly wallSeconds: number;
}

/** The runner under test: restarted after every kill, on the same store; senders wait for it while it is down. */
class CrashingRunner {
  private current: Promise<RunnerChild>;
  private generation = 0;
  kills = 0;

  constructor(private readonly setup: RunnerSetup) {
    this.current = this.start();
  }

  url(): Promise<string> {
    return this.current.then((runner) => runner.url);
  }

  /** SIGKILL, then a fresh start on the same store. */
  async crash(): Promise<void> {
    const runner = await this.current;
    this.current = runner.kill().then(() => this.start());
    this.kills += 1;
    progress(`SIGKILL ${this.kills} of ${KILLS}; restarting`);
    await this.current;
  }

  async stop(): Promise<void> {
    await (await this.current).stop();
  }

  private start(): Promise<RunnerChild> {
    return startRunner(WORK_DIR, `runner-${++this.generation}`, this.setup);
  }
}

async function soak(events: number, seed: number): Promise<SoakReport> {
  const started = performance.now();
  const fake = await startFakeCleverTap({ accounts: { [BENCH_ACCOUNT_ID]: BENCH_PASSCODE } });
  fake.injectRandomly(FAULTS, seededRandom(seed));
  const storeUrl = `sqlite:${STORE_FILE}`;
  const runner = new CrashingRunner({ ...SETUP, storeUrl, destination: fake.url });
  const agent = new Agent({ connections: SENDERS });
  try {
    const killAt = Array.from({ length: KILLS }, (_, i) => Math.floor((events * (i + 1)) / (KILLS + 1)));
    let crashing = Promise.resolve();
    const { acceptedIds, resends } = await sendAll(events, runner, agent, (acceptedCount) => {
      if (acceptedCount >= (killAt[0] ?? Infinity)) {
        killAt.shift();
        crashing = crashing.then(() => runner.crash());
      }
    });
    await crashing;
    progress(`all ${acceptedIds.size} webhooks accepted; waiting for their deliveries`);
    await waitForDeliveries(fake, acceptedIds);
    await runner.stop();

    const observed = await readStore(storeUrl);
    const tally = tallySoak({
      acceptedIds,
      recordEventIds: recordEventIds(fake),
      deadEventIds: observed.deadEventIds,
      storedEventIds: observed.storedEventIds,
    });
    return {
      generatedAt: new Date().toISOString(),
      events,
      seed,
      faults: FAULTS,
      kills: runner.kills,
      resends,
      uploads: uploadOutcomes(fake),
      unfinishedDeliveries: observed.unfinished,
      ...tally,
      // Events never accepted before the deadline count as lost too: RevenueCat would have given up on them.
      lost: tally.lost + (events - tally.accepted),
      wallSeconds: Math.round((performance.now() - started) / 1000),
    };
  } finally {
    await agent.close();
    await ServiceProcess.killAll();
    await fake.close();
  }
}

/** Posts every webhook until it is answered 200, from SENDERS concurrent senders; failures are sent again. */
async function sendAll(
  events: number,
  runner: CrashingRunner,
  agent: Agent,
  onAccepted: (acceptedCount: number) => void,
): Promise<{ acceptedIds: Set<string>; resends: number }> {
  const text = webhookText();
  const acceptedIds = new Set<string>();
  const deadline = Date.now() + SEND_DEADLINE_MS;
  let next = 0;
  let resends = 0;
  const sender = async () => {
    while (next < events && Date.now() < deadline) {
      const id = `soak-${next++}`;
      const body = text(id);
      while (Date.now() < deadline) {
        if (await post(await runner.url(), body, agent)) break;
        resends += 1;
        await sleep(50);
      }
      if (Date.now() >= deadline) return;
      acceptedIds.add(id);
      onAccepted(acceptedIds.size);
      if (acceptedIds.size % 5_000 === 0) progress(`${acceptedIds.size} of ${events} accepted`);
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  return { acceptedIds, resends };
}

/** True when the runner answered 200; false on any other answer or a failed connection. */
async function post(url: string, body: string, agent: Agent): Promise<boolean> {
  try {
    const response = await request(`${url}/webhooks/revenuecat`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: BENCH_AUTHORIZATION },
      dispatcher: agent,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

async function waitForDeliveries(fake: FakeCleverTap, acceptedIds: ReadonlySet<string>): Promise<void> {
  const deadline = Date.now() + DELIVERY_DEADLINE_MS;
  const delivered = new Set<string>();
  let seen = 0;
  let reported = Date.now();
  while (delivered.size < acceptedIds.size && Date.now() < deadline) {
    const ids = recordEventIds(fake);
    for (const id of ids.slice(seen)) if (acceptedIds.has(id)) delivered.add(id);
    seen = ids.length;
    if (Date.now() - reported > 10_000) {
      progress(`${delivered.size} of ${acceptedIds.size} delivered`);
      reported = Date.now();
    }
    await sleep(200);
  }
}

/** The event id each record at the fake carries, in arrival order. */
function recordEventIds(fake: FakeCleverTap): string[] {
  return fake.records().flatMap(({ record }) => {
    const id = (record as { evtData?: Record<string, unknown> }).evtData?.[ID_ATTRIBUTE];
    return typeof id === 'string' ? [id] : [];
  });
}

function uploadOutcomes(fake: FakeCleverTap): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const upload of fake.requests()) {
    const outcome =
      upload.fault === undefined ? `answered ${upload.status}` : `injected ${upload.fault === 'status' ? upload.status : upload.fault}`;
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

/** Every event id in the store, the events with a dead delivery, and deliveries not yet final. */
async function readStore(storeUrl: string): Promise<{ storedEventIds: string[]; deadEventIds: string[]; unfinished: number }> {
  const store = await openStore(storeUrl);
  try {
    const storedEventIds = (await everyRow(store.log, 'events', {})).map((event) => event.id);
    const deadEventIds = (await everyRow(store.log, 'deliveries', { state: 'dead' })).map((delivery) => delivery.eventId);
    const unfinished = (await store.log.stats(Date.now())).deliveries
      .filter((row) => row.state === 'pending' || row.state === 'in_flight' || row.state === 'paused')
      .reduce((sum, row) => sum + row.count, 0);
    return { storedEventIds, deadEventIds, unfinished };
  } finally {
    await store.close();
  }
}

async function everyRow(log: EventLog, table: 'events', filter: ListFilter): Promise<EventRow[]>;
async function everyRow(log: EventLog, table: 'deliveries', filter: ListFilter): Promise<DeliveryRow[]>;
async function everyRow(log: EventLog, table: 'events' | 'deliveries', filter: ListFilter): Promise<(EventRow | DeliveryRow)[]> {
  const rows: (EventRow | DeliveryRow)[] = [];
  for (let page = 0; page < 100_000; page++) {
    const query = { ...filter, limit: 500, before: rows.at(-1)?.id };
    const batch = table === 'events' ? await log.listEvents(query) : await log.listDeliveries(query);
    rows.push(...batch);
    if (batch.length < 500) break;
  }
  return rows;
}

export function renderSoak(report: SoakReport): string {
  const uploads = Object.entries(report.uploads)
    .sort((a, b) => b[1] - a[1])
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(', ');
  return [
    `Generated by \`npm run soak\` on ${report.generatedAt} in ${report.wallSeconds} s (seed ${report.seed}).`,
    `${report.events} webhooks; fake CleverTap faults per upload: ${report.faults.status5xx * 100} % 503, ${report.faults.status429 * 100} % 429, ${report.faults.hang * 100} % hang, ${report.faults.resetAfterStore * 100} % reset after storing; the runner SIGKILLed ${report.kills} times and restarted.`,
    '',
    '| accepted | delivered | duplicated | dead | lost | webhooks sent again | unfinished deliveries |',
    '|--:|--:|--:|--:|--:|--:|--:|',
    `| ${report.accepted} | ${report.delivered} | ${report.duplicated} | ${report.dead} | ${report.lost} | ${report.resends} | ${report.unfinishedDeliveries} |`,
    '',
    `Upload requests at the fake CleverTap: ${uploads}.`,
  ].join('\n');
}

/** mulberry32: the same faults for the same seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function progress(message: string): void {
  process.stderr.write(`soak: ${message}\n`);
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: { events: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (flags.help) return void process.stdout.write(`${USAGE}\n`);
  const events = Number(flags.events ?? 50_000);
  const seed = Number(flags.seed ?? 1);
  if (!Number.isInteger(events) || events < KILLS + 1)
    throw new Error(`--events: a whole number of at least ${KILLS + 1}, got ${flags.events}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed: a whole number, got ${flags.seed}`);
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });

  const report = await soak(events, seed);
  writeFileSync(path.join(OUT_DIR, 'soak.json'), `${JSON.stringify(report, null, 2)}\n`);
  const section = renderSoak(report);
  updateMarkdownFile(path.join(ROOT, 'BENCHMARKS.md'), 'soak', section);
  process.stdout.write(
    `${section}\n\nWritten: bench/soak.json, BENCHMARKS.md\n` +
      `accepted ${report.accepted}, delivered ${report.delivered}, duplicated ${report.duplicated}, dead ${report.dead}, lost ${report.lost}\n`,
  );
  if (report.lost > 0) {
    process.stdout.write(`LOST: ${report.lost} events, e.g. ${report.lostExamples.join(', ')}\n`);
    process.exitCode = 1;
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${STORE_FILE}${suffix}`, { force: true });
}

process.once('SIGINT', () => {
  void ServiceProcess.killAll().finally(() => process.exit(130));
});

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
