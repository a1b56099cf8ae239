import { ACTIVITY_MINUTE_MS, TOKENS, minuteOf, type ActivityLog, type ActivityRow, type Logger } from '@ferry/core';
import { fixture, MemoryStore, startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import { ActivityRecorder } from './activity';
import { RUNNER_TOKENS } from './container';
import type { ServiceContainer } from './service-container';
import {
  ACCOUNT_ID,
  PASSCODE,
  SECRETS,
  clevertapDestination,
  closeHttp,
  settled,
  standingClock,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';
import { createTestSchema, postgresFor, type TestSchema } from './testing/postgres';

/** What a series adds up to over every minute of an answer of /admin/activity. */
const total = (values: readonly (number | null)[]) => values.reduce<number>((sum, value) => sum + (value ?? 0), 0);

/** Every stored row, whatever its minute. */
const allRows = (activity: ActivityLog) => activity.read(0, Number.MAX_SAFE_INTEGER);

/** No flush but those a test asks for and the one at shutdown: what is stored is what the test did. */
const flushOnlyWhenAsked = (services: ServiceContainer) => services.replaceValue(RUNNER_TOKENS.ActivityFlushMs, 24 * 3_600_000);

const warnings: string[] = [];
const logger: Logger = {
  debug() {},
  info() {},
  warn: (_fields, message) => void warnings.push(message),
  error() {},
  child: () => logger,
};

describe('the activity recorder', () => {
  const T0 = Date.UTC(2026, 0, 1, 12, 0, 30);

  function recorder(activity: ActivityLog = new MemoryStore().activity, clock = standingClock(T0)) {
    return { clock, activity, recorder: new ActivityRecorder({ activity, clock, logger, flushEveryMs: 5_000 }) };
  }

  it('counts webhooks stored, deliveries delivered and attempts that failed per minute, and stores them at a flush', async () => {
    const { recorder: r, clock, activity } = recorder();
    r.received();
    r.received();
    r.attempted('delivered', 5);
    r.attempted('retry', 2);
    r.attempted('rejected', 1);
    clock.advance(ACTIVITY_MINUTE_MS);
    r.attempted('auth_failed', 3);
    expect(await allRows(activity)).toEqual([]);
    expect(r.pending()).toEqual([
      { series: 'received', minuteMs: minuteOf(T0), value: 2 },
      { series: 'delivered', minuteMs: minuteOf(T0), value: 5 },
      { series: 'failed', minuteMs: minuteOf(T0), value: 3 },
      { series: 'failed', minuteMs: minuteOf(T0) + ACTIVITY_MINUTE_MS, value: 3 },
    ]);

    await r.flush();
    expect(r.pending()).toEqual([]);
    expect(await allRows(activity)).toEqual([
      { series: 'delivered', minuteMs: minuteOf(T0), value: 5 },
      { series: 'failed', minuteMs: minuteOf(T0), value: 3 },
      { series: 'received', minuteMs: minuteOf(T0), value: 2 },
      { series: 'backlog', minuteMs: minuteOf(T0) + ACTIVITY_MINUTE_MS, value: 0 },
      { series: 'failed', minuteMs: minuteOf(T0) + ACTIVITY_MINUTE_MS, value: 3 },
    ] satisfies ActivityRow[]);
  });

  it('keeps the counts of a flush the store refused for the next one, beside those counted since', async () => {
    const store = new MemoryStore();
    let refuse = true;
    const flaky: ActivityLog = {
      add: (counts) => (refuse ? Promise.reject(new Error('disk full')) : store.activity.add(counts)),
      sampleBacklog: (minuteMs) => store.activity.sampleBacklog(minuteMs),
      read: (fromMs, toMs) => store.activity.read(fromMs, toMs),
      prune: (beforeMs) => store.activity.prune(beforeMs),
    };
    const { recorder: r } = recorder(flaky);
    r.received();
    await r.flush();
    expect(warnings.at(-1)).toMatch(/could not store the activity counts/);
    r.received();
    refuse = false;
    await r.flush();
    expect(await allRows(store.activity)).toEqual([
      { series: 'backlog', minuteMs: minuteOf(T0), value: 0 },
      { series: 'received', minuteMs: minuteOf(T0), value: 2 },
    ]);
  });

  it('writes nothing while idle but the first sample of each minute', async () => {
    const store = new MemoryStore();
    let writes = 0;
    const counting: ActivityLog = {
      add: (counts) => (writes++, store.activity.add(counts)),
      sampleBacklog: (minuteMs) => (writes++, store.activity.sampleBacklog(minuteMs)),
      read: (fromMs, toMs) => store.activity.read(fromMs, toMs),
      prune: (beforeMs) => store.activity.prune(beforeMs),
    };
    const { recorder: r, clock } = recorder(counting);
    await r.flush();
    expect(writes).toBe(2);
    await r.flush();
    await r.flush();
    expect(writes).toBe(2);
    clock.advance(ACTIVITY_MINUTE_MS);
    await r.flush();
    expect(writes).toBe(4);
    expect((await allRows(store.activity)).map((row) => row.series)).toEqual(['backlog', 'backlog']);
  });

  it('stores what is left when it stops, and nothing after a start that never began flushing', async () => {
    const { recorder: r, activity } = recorder();
    await r.stop();
    expect(await allRows(activity)).toEqual([]);
    r.received();
    await r.stop();
    expect(await allRows(activity)).toContainEqual({ series: 'received', minuteMs: minuteOf(T0), value: 1 });
  });
});

describe('activity in a runner', () => {
  let dir: TempDir;
  let fake: FakeCleverTap;
  const runners: TestRunner[] = [];

  beforeAll(async () => {
    // Renewals are discarded by the account (code 528): rejected, so dead.
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, discardedEvents: ['rc_renewal_event'] });
  });

  beforeEach(async () => {
    dir = await tempDir();
    fake.reset();
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.runner.close();
    await dir.remove();
  });

  afterAll(async () => {
    await fake?.close();
    await closeHttp();
  });

  async function start(passcode = PASSCODE) {
    const runner = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake, { passcode })] }), {
      configure: flushOnlyWhenAsked,
    });
    runners.push(runner);
    return runner;
  }

  async function activity(t: TestRunner, query = '') {
    const answer = await t.admin('GET', `/activity${query}`);
    expect(answer.status).toBe(200);
    return answer.json as { minuteMs: number; fromMs: number; toMs: number; series: Record<string, (number | null)[]> };
  }

  const totals = async (t: TestRunner) =>
    Object.fromEntries(Object.entries((await activity(t)).series).map(([name, values]) => [name, total(values)])) as Record<string, number>;

  it('counts real webhooks and deliveries, failures included, live before they are stored and the same after', async () => {
    const t = await start();
    const purchase = webhookBody('initial_purchase');
    // The first request fails (a retry), the second delivers it.
    fake.inject({ type: 'status', status: 503 });
    expect((await t.postWebhook(purchase)).status).toBe(200);
    await waitFor('the purchase to be delivered', () => settled(t));
    // Rejected by the account: dead, a failed attempt.
    expect((await t.postWebhook(webhookBody('renewal'))).status).toBe(200);
    await waitFor('the renewal to die', () => settled(t));
    expect((await t.postWebhook(purchase)).json).toMatchObject({ status: 'duplicate' });

    const live = { received: 2, delivered: 1, failed: 2 };
    expect(await totals(t)).toMatchObject(live);
    await t.runner.activity.flush();
    expect(t.runner.activity.pending()).toEqual([]);
    expect(await totals(t)).toMatchObject(live);
    const stored = await allRows(t.runner.store.activity);
    for (const [series, value] of Object.entries(live)) {
      expect(total(stored.filter((row) => row.series === series).map((row) => row.value))).toBe(value);
    }
    // Nothing waits now: the backlog sampled at the flush is 0.
    expect(stored.filter((row) => row.series === 'backlog')).toEqual([{ series: 'backlog', minuteMs: expect.any(Number), value: 0 }]);

    // The rows are numbers per minute and series: no user id, no secret.
    const text = JSON.stringify(stored);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    for (const name of ['initial_purchase', 'renewal'] as const) {
      expect(text).not.toContain(fixture(name).webhook.event.app_user_id as string);
      expect(text).not.toContain(fixture(name).webhook.event.id as string);
    }
  });

  it('counts attempts whose credentials were refused as failed, and samples their waiting deliveries as backlog', async () => {
    const t = await start('wrong-passcode-0000');
    expect((await t.postWebhook(webhookBody('initial_purchase'))).status).toBe(200);
    await waitFor('the destination to pause', async () => (await t.admin('GET', '/destinations')).json.destinations[0].state === 'paused');
    await t.runner.activity.flush();
    const { series } = await activity(t);
    expect(total(series.failed)).toBeGreaterThanOrEqual(1);
    expect(total(series.delivered)).toBe(0);
    expect(series.backlog.filter((value) => value !== null)).toEqual([1]);
  });

  it('keeps what shutdown stored across a restart', async () => {
    const first = await start();
    expect((await first.postWebhook(webhookBody('initial_purchase'))).status).toBe(200);
    await waitFor('the delivery', () => settled(first));
    // No flush asked for: closing the runner stores what it counted.
    await runners.splice(0)[0].runner.close();

    const second = await start();
    expect(second.runner.activity.pending()).toEqual([]);
    expect(await totals(second)).toMatchObject({ received: 1, delivered: 1, failed: 0 });
  });

  it('answers one entry per minute from a minute boundary to the current minute, missing minutes 0 or null', async () => {
    const t = await start();
    const before = Date.now();
    const day = await activity(t);
    const after = Date.now();
    expect(day.minuteMs).toBe(ACTIVITY_MINUTE_MS);
    expect(day.fromMs % ACTIVITY_MINUTE_MS).toBe(0);
    expect(day.toMs - day.fromMs).toBe(24 * 60 * ACTIVITY_MINUTE_MS);
    expect(day.toMs).toBeGreaterThan(minuteOf(before));
    expect(day.toMs - ACTIVITY_MINUTE_MS).toBeLessThanOrEqual(minuteOf(after));
    for (const values of Object.values(day.series)) expect(values).toHaveLength(24 * 60);
    expect(new Set([...day.series.received, ...day.series.delivered, ...day.series.failed])).toEqual(new Set([0]));
    expect(new Set(day.series.backlog)).toEqual(new Set([null]));

    expect((await activity(t, '?hours=1')).series.received).toHaveLength(60);
    expect((await activity(t, '?hours=48')).series.backlog).toHaveLength(48 * 60);
  });

  it('refuses a bad query with a 400 naming the field', async () => {
    const t = await start();
    for (const query of ['?hours=0', '?hours=49', '?hours=1.5', '?hours=lots', '?hours=']) {
      const answer = await t.admin('GET', `/activity${query}`);
      expect(answer.status).toBe(400);
      expect(answer.json.issues).toEqual([expect.objectContaining({ path: 'hours' })]);
    }
    const unknown = await t.admin('GET', '/activity?days=2');
    expect(unknown.status).toBe(400);
    expect(unknown.json.issues).toEqual([expect.objectContaining({ path: 'days' })]);
  });
});

const databaseUrl = postgresFor('activity on Postgres');

(databaseUrl ? describe : describe.skip)('activity of two runners on one Postgres', () => {
  let dir: TempDir;
  let fake: FakeCleverTap;
  let schema: TestSchema;
  const runners: TestRunner[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
    schema = await createTestSchema(databaseUrl!, 'activity');
  });

  afterAll(async () => {
    for (const runner of runners) await runner.runner.close();
    await schema?.drop();
    await fake?.close();
    await closeHttp();
    await dir?.remove();
  });

  it('add to the same minute exactly: each sees the sum of both', async () => {
    // One standing clock: every count falls in one minute.
    const clock = standingClock();
    const config = testConfig(dir.path, { store: { url: schema.url }, destinations: [clevertapDestination(fake)] });
    for (let i = 0; i < 2; i++) {
      runners.push(
        await startTestRunner(config, {
          configure: (services) => {
            services.replaceValue(TOKENS.Clock, clock);
            flushOnlyWhenAsked(services);
          },
        }),
      );
    }
    const perRunner = 40;
    await Promise.all(
      runners.flatMap((t, r) =>
        Array.from({ length: perRunner }, async (_, i) => {
          expect((await t.postWebhook(webhookBody('initial_purchase', { id: `two-runners-${r}-${i}` }))).status).toBe(200);
        }),
      ),
    );
    await waitFor('every delivery', () => settled(runners[0]));
    await Promise.all(runners.map((t) => t.runner.activity.flush()));

    const rows = await allRows(runners[0].runner.store.activity);
    expect(rows.filter((row) => row.series !== 'backlog')).toEqual([
      { series: 'delivered', minuteMs: minuteOf(clock.now()), value: 2 * perRunner },
      { series: 'received', minuteMs: minuteOf(clock.now()), value: 2 * perRunner },
    ]);
    for (const t of runners) {
      const { series } = (await t.admin('GET', '/activity?hours=1')).json;
      expect(series.received.at(-1)).toBe(2 * perRunner);
      expect(series.delivered.at(-1)).toBe(2 * perRunner);
    }
  });
});
