import { setTimeout as sleep } from 'node:timers/promises';
import type { FakeCleverTap } from '@ferry/testkit';
import { postWebhooks, type WebhookLoad } from './load';
import { logTime, type ServiceProcess } from './processes';
import type { DrainFigures, ServerLoadFigures } from './report';
import type { RunnerChild } from './runner-config';
import { round } from './stats';
import type { FillFigures } from './store-fill';

/** Longest a drain may take. */
const DRAIN_DEADLINE_MS = 15 * 60_000;
/** Deliveries that stop arriving for this long have stalled: waiting longer would only hide it. */
export const STALL_MS = 30_000;

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
