import type { ServerResponse } from 'node:http';
import { systemClock, type Clock, type ErasureSubject, type RetryPolicy } from '@ferry/core';
import { MemoryDatabase, MemoryStore } from '@ferry/testkit';
import { composeStore, ErasureWorker, UndiciTransport, type DestinationInstance, type ErasureOutcome } from './index';
import { sendJson, waitFor, type ReceivedRequest } from './testing/http-server';
import { apiKey, manualClock, runCleanups, server, T0 } from './testing/dispatcher-harness';
import { captureLogger } from './testing/logger';
import { testDestination, testErasure, testPlugin } from './testing/test-plugin';

const erasingPlugin = { ...testPlugin(), erasure: testErasure };

/** Two aliases and a destination identity beside the app user id: four ids, two erase requests. */
const subject: ErasureSubject = {
  appUserIds: ['alice-0001', 'alice-alias-1', 'alice-alias-2'],
  identities: [{ user: 'alice-0001' }, { objectId: 'ct-alice-42' }],
};
const SUBJECT_IDS = ['alice-0001', 'alice-alias-1', 'alice-alias-2', 'ct-alice-42'];

const policy: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 1_000, maxRetryAfterMs: 1_000, maxAttempts: 10, maxAgeMs: 60_000 };

function erasing(url: string, plugin: DestinationInstance['plugin'] = erasingPlugin): DestinationInstance {
  return testDestination('dest', { url, apiKey }, { plugin });
}

interface WorkerSetup {
  readonly destinations: readonly DestinationInstance[];
  readonly database: MemoryDatabase;
  readonly clock?: Clock;
  readonly retryPolicy?: RetryPolicy;
  readonly ownerId?: string;
}

const logger = captureLogger();

/** A worker on its own store over the shared database (one runner), stopped by runCleanups. */
function worker({ destinations, database, clock = systemClock, retryPolicy = policy, ownerId }: WorkerSetup) {
  const store = composeStore(new MemoryStore(database), { logger });
  const outcomes: ErasureOutcome[] = [];
  const transport = new UndiciTransport();
  const erasures = new ErasureWorker({
    jobs: store.erasures,
    destinations,
    transport,
    clock,
    logger,
    random: () => 0.5,
    options: { ownerId, pollMs: 5, retryPolicy },
    observer: (_destination, outcome) => outcomes.push(outcome),
  });
  cleanups.push(async () => {
    await erasures.stop();
    await transport.close();
  });
  return { jobs: store.erasures, erasures, outcomes };
}

let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  await runCleanups();
  // No log line, from any test, names an id of the customer or the destination's key.
  const logged = JSON.stringify(logger.entries);
  for (const id of [...SUBJECT_IDS, apiKey]) expect(logged).not.toContain(id);
});

const idsOf = (request: ReceivedRequest) => (JSON.parse(request.body) as { ids: string[] }).ids;

/** Answers with the destination echoing the request back (ids and key), as error bodies often do. */
const echo = (status: number) => (request: ReceivedRequest, response: ServerResponse) =>
  sendJson(response, status, { error: `cannot delete ${idsOf(request).join(', ')} for key ${apiKey}` });

describe('ErasureWorker', () => {
  it('sends the requests one at a time in order, resumes at the failed one after two 500s and a restart, and forgets the ids once done', async () => {
    let failures = 2;
    const destination = await server((request, response) => {
      if (idsOf(request).includes('alice-alias-2') && failures-- > 0) return echo(500)(request, response);
      sendJson(response, 200, { deleted: idsOf(request).length });
    });
    const database = new MemoryDatabase();
    const clock = manualClock();
    const first = worker({ destinations: [erasing(destination.url)], database, clock });
    await first.jobs.addErasureJobs([{ id: 'job-1', destinationId: 'dest', subject, steps: 2 }], T0);

    expect(await first.erasures.runOnce()).toBe(true);
    const retried = await first.jobs.getErasureJob('job-1');
    expect(retried).toMatchObject({ state: 'pending', nextStep: 1, steps: 2, attempts: 1, subject, nextAttemptAtMs: T0 + 750 });
    // The destination's answer is kept without the customer's ids or the key.
    expect(retried!.lastAnswer).toBe('HTTP 500: {"error":"cannot delete [user id], [user id] for key [redacted]"}');
    expect(await first.erasures.runOnce()).toBe(false); // not due yet

    clock.advance(1_000);
    expect(await first.erasures.runOnce()).toBe(true);
    expect(await first.jobs.getErasureJob('job-1')).toMatchObject({ state: 'pending', nextStep: 1, attempts: 2 });
    await first.erasures.stop();

    // A restart: a new worker on a new store over the same database picks the job up at the request that failed.
    clock.advance(1_000);
    const restarted = worker({ destinations: [erasing(destination.url)], database, clock });
    expect(await restarted.erasures.runOnce()).toBe(true);

    expect(destination.received.map(idsOf)).toEqual([
      ['alice-0001', 'alice-alias-1'],
      ['alice-alias-2', 'ct-alice-42'],
      ['alice-alias-2', 'ct-alice-42'],
      ['alice-alias-2', 'ct-alice-42'],
    ]);
    expect(destination.received.every((request) => request.headers['x-api-key'] === apiKey)).toBe(true);
    expect(await restarted.jobs.getErasureJob('job-1')).toMatchObject({
      state: 'done',
      subject: null,
      identityCount: 4,
      nextStep: 2,
      attempts: 2,
      lastAnswer: 'done: HTTP 200',
    });
    expect([...first.outcomes, ...restarted.outcomes]).toEqual(['retry', 'retry', 'done']);
    expect(JSON.stringify(database.erasureJobs.get('job-1'))).not.toMatch(/alice|ct-alice/);
  });

  it('ends a job dead once both retry limits are reached, keeping the last answer (redacted) and the ids for a retry', async () => {
    const destination = await server(echo(503));
    const database = new MemoryDatabase();
    const clock = manualClock();
    const { jobs, erasures, outcomes } = worker({
      destinations: [erasing(destination.url)],
      database,
      clock,
      retryPolicy: { ...policy, maxAttempts: 2, maxAgeMs: 0 },
    });
    await jobs.addErasureJobs([{ id: 'job-1', destinationId: 'dest', subject, steps: 2 }], T0);
    await erasures.runOnce();
    clock.advance(1_000);
    await erasures.runOnce();
    expect(await jobs.getErasureJob('job-1')).toMatchObject({
      state: 'dead',
      attempts: 2,
      nextStep: 0,
      subject,
      lastAnswer: 'HTTP 503: {"error":"cannot delete [user id], [user id] for key [redacted]"}',
    });
    expect(outcomes).toEqual(['retry', 'dead']);
    clock.advance(60_000);
    expect(await erasures.runOnce()).toBe(false);
    expect(destination.received).toHaveLength(2);
  });

  it('ends a job dead at once when the destination refuses the request', async () => {
    const destination = await server(echo(400));
    const { jobs, erasures } = worker({ destinations: [erasing(destination.url)], database: new MemoryDatabase() });
    await jobs.addErasureJobs([{ id: 'job-1', destinationId: 'dest', subject, steps: 2 }], Date.now());
    await erasures.runOnce();
    expect(await jobs.getErasureJob('job-1')).toMatchObject({
      state: 'dead',
      attempts: 1,
      lastAnswer: expect.stringMatching(/^HTTP 400: /),
    });
    expect(destination.received).toHaveLength(1);
  });

  it('leaves a job of a destination no longer configured waiting, and ends one whose plugin cannot erase dead, saying why', async () => {
    const destination = await server(echo(200));
    const database = new MemoryDatabase();
    const removed = worker({ destinations: [], database });
    await removed.jobs.addErasureJobs([{ id: 'job-1', destinationId: 'dest', subject, steps: 2 }], Date.now());
    expect(await removed.erasures.runOnce()).toBe(false);
    expect(await removed.jobs.getErasureJob('job-1')).toMatchObject({ state: 'pending', attempts: 0 });

    const cannot = worker({ destinations: [erasing(destination.url, testPlugin())], database });
    expect(await cannot.erasures.runOnce()).toBe(true);
    expect(await cannot.jobs.getErasureJob('job-1')).toMatchObject({ state: 'dead', lastAnswer: 'the plugin test cannot erase' });
    expect(destination.received).toHaveLength(0);
  });

  it('of two runners working the same jobs, sends each request once and never two of one job at a time', async () => {
    const inFlight = new Map<string, number>();
    let overlaps = 0;
    const destination = await server((request, response) => {
      const job = idsOf(request)[0].split(':')[0];
      inFlight.set(job, (inFlight.get(job) ?? 0) + 1);
      if (inFlight.get(job)! > 1) overlaps += 1;
      setTimeout(() => {
        inFlight.set(job, inFlight.get(job)! - 1);
        sendJson(response, 200, {});
      }, 5);
    });
    const database = new MemoryDatabase();
    const runners = ['runner-a', 'runner-b'].map((ownerId) => worker({ destinations: [erasing(destination.url)], database, ownerId }));
    const jobIds = Array.from({ length: 8 }, (_, i) => `job-${i}`);
    await runners[0].jobs.addErasureJobs(
      jobIds.map((id) => ({
        id,
        destinationId: 'dest',
        subject: { appUserIds: [1, 2, 3, 4, 5].map((n) => `${id}:user-${n}`), identities: [] },
        steps: 3,
      })),
      Date.now(),
    );
    for (const runner of runners) runner.erasures.start();
    await waitFor(async () => (await runners[0].jobs.listErasureJobs({ state: 'done' })).length === jobIds.length, 'every job done');
    expect(overlaps).toBe(0);
    expect(destination.received).toHaveLength(jobIds.length * 3);
    expect(new Set(destination.received.map((request) => request.body)).size).toBe(jobIds.length * 3);
    // Both worked: the jobs were shared, not done by one while the other stood by.
    expect(runners.every((runner) => runner.outcomes.length > 0)).toBe(true);
  });
});
