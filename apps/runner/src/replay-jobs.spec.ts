import { webhookBody } from '@ferry/testkit';
import { closeHttp, send, startTestRunner, tempDir, testConfig, waitFor, type TempDir, type TestRunner } from './testing/harness';
import { createTestSchema, postgresFor } from './testing/postgres';

/** Large enough that a replay that never yields holds the runner for a visible while; generated through the store. */
const DELIVERIES = 30_000;

/**
 * A replay over a large window once froze the runner: webhooks and /healthz went unanswered until it
 * ended. Now it runs as a background job in batches that yield, so the runner answers while it runs.
 */
async function largeReplayKeepsAnswering(t: TestRunner): Promise<void> {
  const nowMs = Date.now();
  // Skipped deliveries to a destination the runner does not deliver to: the replay makes them pending, nothing sends them.
  // A few thousand at a time: group commit refuses to queue more than that.
  for (let start = 0; start < DELIVERIES; start += 2_500) {
    await Promise.all(
      Array.from({ length: 2_500 }, (_, offset) => {
        const i = start + offset;
        const event = { id: `bulk-${i}`, source: 'revenuecat', type: 'RENEWAL', kind: 'renewal' as const, userId: `user-${i % 100}` };
        return t.runner.store.queue.ingest(
          { ...event, productId: null, environment: 'PRODUCTION', timestampMs: nowMs, body: '{}' },
          [{ destinationId: 'archive', state: 'skipped', reason: 'rule: reason' }],
          nowMs - DELIVERIES + i,
        );
      }),
    );
  }

  const request = { from: 0, to: 99_999_999_999_999, states: ['skipped'] };
  const started = await t.admin('POST', '/replay', request);
  expect(started.status).toBe(202);
  expect(started.json.job).toMatchObject({ state: 'running', replayed: 0, request });
  const id = started.json.job.id;

  expect((await send('GET', `${t.runner.url}/healthz`)).json).toEqual({ status: 'ok' });
  expect((await t.postWebhook(webhookBody('initial_purchase', { id: `during-${id}` }))).json.status).toBe('stored');
  // Both answered before the replay ended: it did not hold the runner.
  expect((await t.admin('GET', `/replays/${id}`)).json.job.state).toBe('running');

  const job = await waitFor('the replay job to finish', async () => {
    const current = (await t.admin('GET', `/replays/${id}`)).json.job;
    return current.state !== 'running' && current;
  });
  expect(job).toMatchObject({ state: 'done', replayed: DELIVERIES, finishedAtMs: expect.any(Number) });
  expect((await t.admin('GET', '/replays')).json.jobs[0]).toEqual(job);
}

describe('a large replay', () => {
  let dir: TempDir;
  let t: TestRunner | undefined;

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    await t?.runner.close();
    t = undefined;
    await dir.remove();
  });

  afterAll(() => closeHttp());

  it('runs as a background job on SQLite: webhooks and /healthz answer while it runs', async () => {
    t = await startTestRunner(testConfig(dir.path, { log: { level: 'warn' } }));
    await largeReplayKeepsAnswering(t);
  }, 120_000);

  const databaseUrl = postgresFor('large replay on Postgres');
  (databaseUrl ? it : it.skip)(
    'runs as a background job on Postgres: webhooks and /healthz answer while it runs',
    async () => {
      const schema = await createTestSchema(databaseUrl!, 'replay');
      try {
        t = await startTestRunner(testConfig(dir.path, { store: { url: schema.url }, log: { level: 'warn' } }));
        await largeReplayKeepsAnswering(t);
      } finally {
        await t?.runner.close();
        t = undefined;
        await schema.drop();
      }
    },
    120_000,
  );
});
