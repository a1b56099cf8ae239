import { setTimeout as delay } from 'node:timers/promises';
import { subscriptionStatus } from '@ferry/core';
import { lifecycle, lifecycleEvents, shuffled, startFakeCleverTap, type FakeCleverTap, type FakeFault } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  settled,
} from './testing/harness';
import type { TestRunner } from './testing/harness';
import { createTestSchema, postgresFor } from './testing/postgres';
import { post } from './testing/state-order';

const databaseUrl = postgresFor('subscription state under faults on Postgres');

/** Seeds of the shuffles and of the faults: a failure names its seed, so it can be replayed. */
const SEED = 20_250_621;
const USERS = 40;
const EVENTS_PER_USER = 6;

/** mulberry32, as the fixtures' shuffle: deterministic from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Answers for the next requests, in order: slow ones (shorter than the timeout), 5xx, 429, per-record 555s, resets after storing, hangs. */
function faultScript(random: () => number, count: number): FakeFault[] {
  return Array.from({ length: count }, (): FakeFault => {
    const draw = random();
    if (draw < 0.25) return { type: 'delay', ms: 50 + Math.floor(random() * 700) };
    if (draw < 0.35) return { type: 'status', status: 503 };
    if (draw < 0.45) return { type: 'status', status: 429 };
    if (draw < 0.52) return { type: 'unprocessed', records: random() < 0.5 ? 'event' : 'all' };
    if (draw < 0.57) return { type: 'reset-after-store' };
    if (draw < 0.59) return { type: 'hang' };
    return { type: 'delay', ms: 0 }; // answered normally
  });
}

interface Story {
  readonly user: string;
  readonly webhooks: string[];
  /** core's status of the user's newest event: what CleverTap's profile must end in. */
  readonly finalStatus: string;
}

/** Each user: `EVENTS_PER_USER` steps of the lifecycle, drawn and then shuffled from the seed. */
function stories(random: () => number): Story[] {
  const events = lifecycleEvents();
  return Array.from({ length: USERS }, (_, u) => {
    const user = `user-${u}-of-${SEED}`;
    const steps = shuffled(
      lifecycle.map((_step, i) => i),
      Math.floor(random() * 2 ** 31),
    ).slice(0, EVENTS_PER_USER);
    const webhooks = steps.map((i) => {
      const { webhook } = lifecycle[i];
      return JSON.stringify({
        ...webhook,
        event: { ...webhook.event, id: `${user}-${lifecycle[i].name}`, app_user_id: user, original_app_user_id: user, aliases: [user] },
      });
    });
    const newest = steps.reduce((a, b) => (events[b].timestampMs > events[a].timestampMs ? b : a));
    return { user, webhooks, finalStatus: subscriptionStatus(events[newest])! };
  });
}

/**
 * SPEC §12, the issue's proof: many users' lifecycles, shuffled, through delayed, failing and retried requests at
 * CleverTap's highest concurrency; every profile ends in its newest event's state.
 */
describe(`subscription state under faults (seed ${SEED})`, () => {
  let dir: TempDir;
  let fake: FakeCleverTap;
  const runners: TestRunner[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.runner.close();
    await fake.close();
    await dir.remove();
  });

  afterAll(() => closeHttp());

  async function start(store?: { url: string }): Promise<TestRunner> {
    const destination = clevertapDestination(fake, { profileSync: true }, { concurrency: 15, timeoutMs: 3_000 });
    const config = testConfig(dir.path, {
      destinations: [destination],
      // Retried until delivered: every newest event must reach CleverTap in the end.
      delivery: { maxAttempts: 1_000 },
      ...(store && { store }),
    });
    const runner = await startTestRunner(config);
    runners.push(runner);
    return runner;
  }

  async function run(to: readonly TestRunner[]): Promise<void> {
    const random = seededRandom(SEED);
    const users = stories(random);
    fake.inject(...faultScript(random, 1_500));
    // All webhooks in one shuffled order, in small waves, spread over the runners.
    const all = shuffled(
      users.flatMap((story) => story.webhooks),
      SEED,
    );
    for (let i = 0; i < all.length; i += 8) {
      await Promise.all(all.slice(i, i + 8).map((body, j) => post(to[(i + j) % to.length], body)));
      await delay(Math.floor(random() * 40));
    }
    await waitFor('every delivery final', async () => (await Promise.all(to.map(settled))).every(Boolean), 180_000);

    // The faults did happen: the order held through them, not around them.
    const met = new Set(fake.requests().flatMap((request) => request.fault ?? []));
    expect([...met].sort()).toEqual(expect.arrayContaining(['delay', 'reset-after-store', 'status', 'unprocessed']));
    const dead = await to[0].runner.store.log.listDeliveries({ state: 'dead', limit: 500 });
    expect({ seed: SEED, dead: dead.map((d) => [d.eventId, d.lastError]) }).toEqual({ seed: SEED, dead: [] });
    const wrong = users.flatMap(({ user, finalStatus }) => {
      const actual = fake.profile({ identity: user })?.rc_subscription_status;
      return actual === finalStatus ? [] : [{ user, expected: finalStatus, actual }];
    });
    expect({ seed: SEED, wrong }).toEqual({ seed: SEED, wrong: [] });
  }

  it(`${USERS} users × ${EVENTS_PER_USER} shuffled lifecycle events, one runner on SQLite: every profile ends in its newest event’s state`, async () => {
    await run([await start()]);
  });

  (databaseUrl ? it : it.skip)(`the same with two runners on one Postgres`, async () => {
    const schema = await createTestSchema(databaseUrl!, 'state_faults');
    try {
      await run([await start({ url: schema.url }), await start({ url: schema.url })]);
    } finally {
      for (const runner of runners.splice(0)) await runner.runner.close();
      await schema.drop();
    }
  });
});
