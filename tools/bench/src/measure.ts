import { setTimeout as sleep } from 'node:timers/promises';
import type { FakeCleverTap } from '@ferry/testkit';
import { postWebhooks, type WebhookLoad } from './load';
import { ID_ATTRIBUTE } from './payload';
import { BARE_SERVER, logTime, ServiceProcess } from './processes';
import type { DrainFigures, ServerLoadFigures, SteadyFigures } from './report';
import type { RunnerChild } from './runner-config';
import { round, summarize } from './stats';
import type { FillFigures } from './store-fill';

/** Longest a drain may take. */
const DRAIN_DEADLINE_MS = 15 * 60_000;
/** Deliveries that stop arriving for this long have stalled: waiting longer would only hide it. */
export const STALL_MS = 30_000;
/** The steady row's rate, webhooks per second over all connections. */
export const STEADY_RATE = 1_000;
/** Connection counts the steady row tries, fewest first. */
const STEADY_CONNECTIONS = [8, 16, 32, 64];
/** Longest wait for the steady row's deliveries to arrive after its load. */
const DELIVERY_DEADLINE_MS = 120_000;

/** Load figures with the server's CPU over the same time (warm-up included on both sides) and its peak memory. */
export async function underLoad(server: ServiceProcess, load: WebhookLoad): Promise<ServerLoadFigures> {
  const cpuBefore = server.cpuSeconds();
  const started = performance.now();
  let accepted = 0;
  const figures = await postWebhooks({
    ...load,
    onAccepted: (id, atMs) => {
      accepted += 1;
      load.onAccepted?.(id, atMs);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = server.cpuSeconds();
  const cpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return {
    ...figures,
    serverCpuPercent: cpu === null ? null : Math.round((cpu / seconds) * 100),
    cpuMicrosPerWebhook: cpu === null || accepted === 0 ? null : Math.round((cpu * 1e6) / accepted),
    peakRssMb: server.memory().peakRssMb,
  };
}

/**
 * A backlog of `events` paused deliveries, stored before `runner` started with a working destination: the time from
 * its "resumed … paused deliveries" line to the last record stored by the fake, and the runner's CPU meanwhile.
 */
export async function drainBacklog(runner: RunnerChild, fake: FakeCleverTap, events: number, fill: FillFigures): Promise<DrainFigures> {
  const cpuAtStart = runner.cpuSeconds();
  const resumed = await runner.waitForLine(
    (line) => line.deliveries === events && /^resumed /.test(String(line.msg)),
    10_000,
    'resuming the backlog',
  );
  const deadline = Date.now() + DRAIN_DEADLINE_MS;
  let arrived = 0;
  let lastProgress = Date.now();
  while (arrived < events && Date.now() < deadline && Date.now() - lastProgress < STALL_MS) {
    await sleep(100);
    const count = fake.records().length;
    if (count > arrived) lastProgress = Date.now();
    arrived = count;
  }
  const records = fake.records();
  if (records.length < events) throw new Error(`drain: ${records.length} of ${events} records arrived (see ${runner.logFile})`);
  const lastArrival = records.reduce((latest, record) => Math.max(latest, record.receivedAt), 0);
  const seconds = (lastArrival - logTime(resumed)) / 1000;
  const cpuAtEnd = runner.cpuSeconds();
  const cpu = cpuAtStart === null || cpuAtEnd === null ? null : cpuAtEnd - cpuAtStart;
  return {
    events,
    seconds: round(seconds),
    perSecond: Math.round(events / seconds),
    runnerCpuPercent: cpu === null ? null : Math.round((cpu / seconds) * 100),
    cpuMicrosPerEvent: cpu === null ? null : Math.round((cpu * 1e6) / events),
    fill,
  };
}

/** The bare node:http server (the yardstick) under `load`: started for it alone, logging to `logFile`, stopped after. */
export async function bareServerLoad(workDir: string, logFile: string, load: Omit<WebhookLoad, 'url'>): Promise<ServerLoadFigures> {
  const server = await ServiceProcess.start(BARE_SERVER, { cwd: workDir, logFile });
  try {
    return await underLoad(server, { ...load, url: server.url });
  } finally {
    await server.stop();
  }
}

/**
 * 1,000 webhooks/s on `runner` (delivering to `fake`): ingest latency, and accepted → stored at CleverTap. autocannon's
 * rate limit lets each connection send its share of every second back to back, then idle: the fewest
 * connections that still reach 95 % of the rate come closest to a steady sender, so they are tried first.
 */
export async function steadyDelivery(
  runner: RunnerChild,
  fake: FakeCleverTap,
  load: Pick<WebhookLoad, 'durationS' | 'warmupS' | 'idPrefix'>,
  progress: (message: string) => void,
): Promise<SteadyFigures> {
  for (const connections of STEADY_CONNECTIONS) {
    fake.reset();
    const acceptedAt = new Map<string, number>();
    const figures = await underLoad(runner, {
      ...load,
      url: runner.url,
      idPrefix: `${load.idPrefix}-${connections}`,
      connections,
      overallRate: STEADY_RATE,
      onAccepted: (id, atMs) => acceptedAt.set(id, atMs),
    });
    const arrivedAt = await waitForRecords(fake, acceptedAt, DELIVERY_DEADLINE_MS);
    const reached = figures.perSecond >= STEADY_RATE * 0.95;
    progress(
      `steady with ${connections} connections: ${figures.perSecond}/s${reached ? '' : ' (short of the rate)'}, p99 ${figures.p99Ms} ms`,
    );
    if (!reached && connections !== STEADY_CONNECTIONS[STEADY_CONNECTIONS.length - 1]) continue;
    const latencies = [...arrivedAt].map(([id, atMs]) => atMs - (acceptedAt.get(id) as number));
    return { ...figures, endToEnd: { ...summarize(latencies), notDelivered: acceptedAt.size - arrivedAt.size } };
  }
  throw new Error('unreachable: the last connection count always returns');
}

/** When each accepted event's first record reached the fake: once all have, or none came for a while, or the deadline passed. */
export async function waitForRecords(
  fake: FakeCleverTap,
  acceptedAt: ReadonlyMap<string, number>,
  deadlineMs: number,
): Promise<Map<string, number>> {
  const arrivedAt = new Map<string, number>();
  const deadline = Date.now() + deadlineMs;
  let seen = 0;
  let lastArrival = Date.now();
  while (arrivedAt.size < acceptedAt.size && Date.now() < deadline && Date.now() - lastArrival < STALL_MS) {
    const records = fake.records();
    if (records.length > seen) lastArrival = Date.now();
    for (const { record, receivedAt } of records.slice(seen)) {
      const id = (record as { evtData?: Record<string, unknown> }).evtData?.[ID_ATTRIBUTE];
      if (typeof id === 'string' && acceptedAt.has(id) && !arrivedAt.has(id)) arrivedAt.set(id, receivedAt);
    }
    seen = records.length;
    await sleep(100);
  }
  return arrivedAt;
}
