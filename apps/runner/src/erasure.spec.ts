import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import BetterSqlite3 from 'better-sqlite3';
import { TOKENS } from '@ferry/core';
import { webhookBody } from '@ferry/testkit';
import { RUNNER_TOKENS } from './container';
import { registerErasurePlugins } from './testing/erasure-plugin';
import {
  closeHttp,
  runFerry,
  send,
  settled,
  standingClock,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';
import { createTestSchema, postgresFor } from './testing/postgres';
import type { ConfigInput } from './config';

const API_KEY = 'erasing-api-key-6d2f8c1a';
const ERASE_KEY = 'erase-key-7c1f9a3b5d';
/** Every id of the customer: the app user id, two aliases, its `$clevertapId`. */
const CUSTOMER = ['alice-0001', 'alice-alias-1', 'alice-alias-2', 'ct-alice-42'];

interface RecordingServer {
  readonly url: string;
  /** The id lists of the delete requests, in arrival order. */
  readonly deletes: string[][];
  /** Answers to the next delete requests (status codes), then 200. */
  readonly script: number[];
  /** Most delete requests of one job (its first id's prefix before `:`) in flight at once. */
  readonly maxInFlight: () => number;
  close(): Promise<void>;
}

/** The destination: takes deliveries at /track, and delete requests at /delete answered as the script says (echoing the ids and key on failure). */
async function recordingServer(latencyMs = 0): Promise<RecordingServer> {
  const deletes: string[][] = [];
  const script: number[] = [];
  const inFlight = new Map<string, number>();
  let maxInFlight = 0;
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const answer = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(payload));
      };
      if (request.url !== '/delete') return answer(200, { ok: true });
      const ids = (JSON.parse(body) as { ids: string[] }).ids;
      deletes.push(ids);
      const job = ids[0].split(':')[0];
      inFlight.set(job, (inFlight.get(job) ?? 0) + 1);
      maxInFlight = Math.max(maxInFlight, inFlight.get(job)!);
      const status = script.shift() ?? 200;
      setTimeout(() => {
        inFlight.set(job, inFlight.get(job)! - 1);
        answer(
          status,
          status === 200 ? { deleted: ids.length } : { error: `could not delete ${ids.join(', ')} (${request.headers['x-erase-key']})` },
        );
      }, latencyMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deletes,
    script,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function erasureConfig(dir: string, destination: RecordingServer, extra: ConfigInput = {}): ConfigInput {
  return testConfig(dir, {
    destinations: [
      { id: 'erasing', plugin: 'erasing-test', timeoutMs: 1_000, settings: { url: destination.url, apiKey: API_KEY, eraseKey: ERASE_KEY } },
      { id: 'no-key', plugin: 'erasing-test', timeoutMs: 1_000, settings: { url: destination.url, apiKey: API_KEY } },
      { id: 'plain', plugin: 'plain-test', timeoutMs: 1_000, settings: { url: destination.url, apiKey: API_KEY } },
    ],
    delivery: { baseDelayMs: 1_000, maxDelayMs: 1_000 },
    ...extra,
  });
}

/** The customer's webhooks: one naming two aliases and a `$clevertapId`, one through an alias; and someone else's. */
async function postCustomer(t: TestRunner): Promise<void> {
  const bodies = [
    webhookBody('renewal', {
      id: 'alice-1',
      app_user_id: 'alice-0001',
      original_app_user_id: 'alice-0001',
      aliases: ['alice-0001', 'alice-alias-1', 'alice-alias-2'],
      subscriber_attributes: { $clevertapId: { value: 'ct-alice-42', updated_at_ms: 1 } },
    }),
    webhookBody('renewal', {
      id: 'alice-2',
      app_user_id: 'alice-alias-1',
      original_app_user_id: 'alice-alias-1',
      aliases: ['alice-alias-1', 'alice-0001'],
      subscriber_attributes: {},
    }),
    webhookBody('renewal', { id: 'bob-1', app_user_id: 'bob-0002', original_app_user_id: 'bob-0002', aliases: ['bob-0002'] }),
  ];
  for (const body of bodies) expect((await t.postWebhook(body)).status).toBe(200);
  await waitFor('the webhooks delivered', () => settled(t));
}

let dir: TempDir;
let destination: RecordingServer;
const runners: TestRunner[] = [];

beforeEach(async () => {
  dir = await tempDir();
  destination = await recordingServer();
});

afterEach(async () => {
  for (const t of runners.splice(0)) await t.runner.close();
  await destination.close();
  await dir.remove();
});

afterAll(() => closeHttp());

async function start(config: ConfigInput, clock?: ReturnType<typeof standingClock>): Promise<TestRunner> {
  const t = await startTestRunner(config, {
    configure: (services) => {
      registerErasurePlugins(services);
      services.replaceValue(RUNNER_TOKENS.ErasurePollMs, 10);
      if (clock) services.replaceValue(TOKENS.Clock, clock);
    },
  });
  runners.push(t);
  return t;
}

async function jobOf(t: TestRunner, id: string) {
  return t.runner.store.erasures.getErasureJob(id);
}

describe('erasure at the destinations', () => {
  it('deletes every id of a customer at each destination that can erase, resuming after two 500s and a restart, and keeps no id once done', async () => {
    const clock = standingClock();
    const config = erasureConfig(dir.path, destination);
    let t = await start(config, clock);
    await postCustomer(t);
    destination.script.push(200, 500, 500);

    const answer = await t.admin('POST', '/erase', { appUserId: 'alice-0001', destinations: true });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      erased: 2,
      remote: [
        { destination: 'erasing', state: 'pending', job: expect.any(String) },
        { destination: 'no-key', state: 'skipped', reason: 'its settings lack eraseKey' },
        { destination: 'plain', state: 'not supported', reason: 'the plugin plain-test cannot erase' },
      ],
    });
    const jobId = answer.json.remote[0].job as string;
    // Gathered before the local rows went: every app user id and the destination's identities, each once.
    expect((await jobOf(t, jobId))?.subject).toEqual({
      appUserIds: ['alice-0001', 'alice-alias-1', 'alice-alias-2'],
      identities: [{ objectId: 'ct-alice-42' }, { identity: 'alice-alias-1' }],
    });
    expect((await t.admin('GET', '/events?user=alice-0001')).json.events).toEqual([]);
    expect((await t.admin('GET', '/events?user=bob-0002')).json.events).toHaveLength(1);

    // The first request goes through, the second fails once: the job waits for its retry (the clock stands still).
    await waitFor('the first 500', async () => (await jobOf(t, jobId))?.attempts === 1);
    expect(await jobOf(t, jobId)).toMatchObject({ state: 'pending', nextStep: 1, steps: 2 });
    const listed = await t.admin('GET', '/erasures');
    expect(listed.status).toBe(200);
    expect(listed.json.jobs).toEqual([
      expect.objectContaining({
        id: jobId,
        destination: 'erasing',
        destinationConfigured: true,
        state: 'pending',
        step: 1,
        steps: 2,
        attempts: 1,
        identities: { count: 4, masked: ['a…1', 'a…1', 'a…2', 'c…2'] },
      }),
    ]);
    expect(listed.json.jobs[0].lastAnswer).toBe('HTTP 500: {"error":"could not delete [user id] ([redacted])"}');
    for (const id of CUSTOMER) expect(listed.text).not.toContain(id);
    const logs = [t.logs];

    // A restart mid-job: the next runner resumes at the request that failed.
    await t.runner.close();
    runners.splice(0);
    clock.advance(2_000);
    t = await start(config, clock);
    logs.push(t.logs);
    await waitFor('the second 500', async () => (await jobOf(t, jobId))?.attempts === 2);
    clock.advance(2_000);
    await waitFor('the job done', async () => (await jobOf(t, jobId))?.state === 'done');

    expect(destination.deletes).toEqual([
      ['alice-0001', 'alice-alias-1', 'alice-alias-2'],
      ['ct-alice-42'],
      ['ct-alice-42'],
      ['ct-alice-42'],
    ]);
    const done = (await t.admin('GET', '/erasures?state=done')).json.jobs;
    expect(done).toEqual([expect.objectContaining({ id: jobId, step: 2, steps: 2, attempts: 2, identities: { count: 4, masked: [] } })]);
    const metrics = (await send('GET', `${t.runner.url}/metrics`)).text;
    expect(metrics).toMatch(/ferry_erasures_total\{destination="erasing",outcome="done"\} 1/);
    expect(metrics).toMatch(/ferry_erasures_total\{destination="erasing",outcome="retry"\} 1/);
    await t.runner.close();
    runners.splice(0);

    // Nothing of the customer is left in the store's file: the job row keeps only its count, and no log line named them.
    const db = new BetterSqlite3(path.join(dir.path, 'ferry.db'), { readonly: true });
    const rows = JSON.stringify(db.prepare('select * from erasure_jobs').all());
    db.close();
    for (const id of CUSTOMER) expect(rows).not.toContain(id);
    for (const id of [...CUSTOMER, API_KEY, ERASE_KEY]) for (const log of logs) expect(log.text()).not.toContain(id);
  });
});

describe('erasure jobs that fail', () => {
  it('end dead after the retry limits with the answer kept, show in the CLI without raw ids, and go again on retry', async () => {
    const clock = standingClock();
    const config = erasureConfig(dir.path, destination, {
      delivery: { baseDelayMs: 1_000, maxDelayMs: 1_000, maxAttempts: 2, maxAgeHours: 0.01 },
    });
    const t = await start(config, clock);
    await postCustomer(t);
    destination.script.push(503, 503);
    const jobId = (await t.admin('POST', '/erase', { appUserId: 'alice-alias-2', destinations: true })).json.remote[0].job as string;
    await waitFor('the first 503', async () => (await jobOf(t, jobId))?.attempts === 1);
    clock.advance(60_000);
    await waitFor('the job dead', async () => (await jobOf(t, jobId))?.state === 'dead');
    const dead = (await t.admin('GET', '/erasures?state=dead&destination=erasing')).json.jobs;
    expect(dead).toEqual([
      expect.objectContaining({
        id: jobId,
        state: 'dead',
        attempts: 2,
        step: 0,
        lastAnswer: 'HTTP 503: {"error":"could not delete [user id], [user id], [user id] ([redacted])"}',
        identities: expect.objectContaining({ count: 4 }),
      }),
    ]);

    // The command line shows it, masked, from the store (its config need not name the destination).
    const configFile = path.join(dir.path, 'cli.json');
    await writeFile(configFile, JSON.stringify({ store: { url: `sqlite:${path.join(dir.path, 'ferry.db')}` } }));
    const listed = await runFerry(dir.path, 'erasures', '--config', configFile, '--state', 'dead');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toContain(jobId);
    expect(listed.stdout).toMatch(/erasing \(not configured\)\s+dead\s+0\/2\s+2\s/);
    for (const id of CUSTOMER) expect(listed.stdout).not.toContain(id);
    expect((await runFerry(dir.path, 'erasures', '--config', configFile, '--state', 'gone')).stderr).toContain('state');

    // Retried by an operator: pending again with a fresh window, and done.
    const retried = await t.admin('POST', `/erasures/${jobId}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.json.job).toMatchObject({ id: jobId, state: 'pending', attempts: 0 });
    await waitFor('the job done', async () => (await jobOf(t, jobId))?.state === 'done');
    expect(destination.deletes).toHaveLength(4);
    expect((await t.admin('POST', `/erasures/${jobId}/retry`)).status).toBe(409);
  });

  it('answers bad input with a 4xx naming the field', async () => {
    const t = await start(erasureConfig(dir.path, destination));
    const wrongSwitch = await t.admin('POST', '/erase', { appUserId: 'alice-0001', destinations: 'yes' });
    expect(wrongSwitch.status).toBe(400);
    expect(wrongSwitch.json.issues).toEqual([expect.objectContaining({ path: 'destinations' })]);
    expect((await t.admin('POST', '/erase', { destinations: true })).json.issues).toEqual([expect.objectContaining({ path: 'appUserId' })]);
    const badState = await t.admin('GET', '/erasures?state=gone');
    expect(badState.status).toBe(400);
    expect(badState.json.issues).toEqual([expect.objectContaining({ path: 'state' })]);
    const badCursor = await t.admin('GET', '/erasures?before=nope');
    expect(badCursor).toMatchObject({ status: 400, json: { issues: [{ path: 'before', message: 'no erasure job with id "nope"' }] } });
    expect((await t.admin('POST', '/erasures/nope/retry')).status).toBe(404);
    // A customer with no stored event still has their id erased at the destination.
    const unknown = await t.admin('POST', '/erase', { appUserId: 'never-seen-9', destinations: true });
    expect(unknown.json.erased).toBe(0);
    const jobId = unknown.json.remote[0].job as string;
    await waitFor('the job done', async () => (await jobOf(t, jobId))?.state === 'done');
    expect(destination.deletes).toEqual([['never-seen-9']]);
    // Without `destinations`, the erase is local only, as before.
    expect((await t.admin('POST', '/erase', { appUserId: 'never-seen-9' })).json).toEqual({ erased: 0 });
    expect((await t.admin('GET', '/erasures')).json.jobs).toHaveLength(1);
  });
});

const databaseUrl = postgresFor('erasure jobs on Postgres');

(databaseUrl ? describe : describe.skip)('erasure jobs with two runners on one Postgres', () => {
  it('sends each request of each job once, never two of one job at a time', async () => {
    const schema = await createTestSchema(databaseUrl!, 'erasure');
    const slow = await recordingServer(20);
    try {
      const config = erasureConfig(dir.path, slow, { store: { url: schema.url } });
      const [a, b] = [await start(config), await start(config)];
      const jobs = Array.from({ length: 10 }, (_, i) => ({
        id: `job-${i}`,
        destinationId: 'erasing',
        subject: { appUserIds: [1, 2, 3, 4, 5].map((n) => `job${i}:user-${n}`), identities: [] },
        steps: 2,
      }));
      await a.runner.store.erasures.addErasureJobs(jobs, Date.now());
      a.runner.erasures.notify();
      b.runner.erasures.notify();
      await waitFor(
        'every job done',
        async () => (await a.runner.store.erasures.listErasureJobs({ state: 'done' })).length === jobs.length,
      );
      expect(slow.maxInFlight()).toBe(1);
      expect(slow.deletes).toHaveLength(jobs.length * 2);
      expect(new Set(slow.deletes.map((ids) => ids.join())).size).toBe(jobs.length * 2);
      for (const t of runners.splice(0)) await t.runner.close();
    } finally {
      for (const t of runners.splice(0)) await t.runner.close();
      await slow.close();
      await schema.drop();
    }
  });
});
