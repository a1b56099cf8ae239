import { lifecycle, shuffled, startFakeCleverTap, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type CleverTapRecordShape,
  type TempDir,
  type TestRunner,
} from './testing/harness';

/**
 * Issue 13's end to end: one user's whole story through a real runner, its real ordering guard and the fake
 * CleverTap, with `profileSync` and `chargedEvent` on. Whatever order the webhooks arrive in, the profile ends
 * as the in-order run leaves it, and every rc_ event is delivered exactly once.
 */
describe('a subscription lifecycle delivered to CleverTap in any order', () => {
  const user = { identity: String(lifecycle[0].webhook.event['app_user_id']) };
  let dir: TempDir;
  let fake: FakeCleverTap;
  let ferry: TestRunner;

  beforeEach(async () => {
    dir = await tempDir();
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
    const config = testConfig(dir.path, { destinations: [clevertapDestination(fake, { profileSync: true, chargedEvent: true })] });
    ferry = await startTestRunner(config);
  });

  afterEach(async () => {
    await ferry.runner.close();
    await fake.close();
    await closeHttp();
    await dir.remove();
  });

  const events = () =>
    fake
      .records()
      .map(({ record }) => record as CleverTapRecordShape)
      .filter((record) => record.type === 'event');

  const countRc = (target: FakeCleverTap) =>
    target.records().filter(({ record }) => (record as CleverTapRecordShape).evtName?.startsWith('rc_')).length;

  /** Sends the steps one by one, each delivered before the next arrives: every step is its own batch. */
  async function deliverOneByOne(runner: TestRunner, target: FakeCleverTap, order: readonly (typeof lifecycle)[number][]): Promise<void> {
    for (const [index, step] of order.entries()) {
      expect((await runner.postWebhook(JSON.stringify(step.webhook))).status).toBe(200);
      await waitFor(`step ${step.name} delivered`, () => countRc(target) === index + 1);
    }
  }

  async function inOrderProfile(): Promise<Record<string, unknown> | undefined> {
    // Its own runner, store and fake: nothing of the run under test is shared.
    const reference = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
    const referenceDir = await tempDir();
    const config = testConfig(referenceDir.path, {
      destinations: [clevertapDestination(reference, { profileSync: true, chargedEvent: true })],
    });
    const runner = await startTestRunner(config);
    try {
      await deliverOneByOne(runner, reference, lifecycle);
      return reference.profile(user);
    } finally {
      await runner.runner.close();
      await reference.close();
      await referenceDir.remove();
    }
  }

  it.each([1, 2, 3])('shuffled with seed %i, one webhook at a time, ends in the in-order profile', async (seed) => {
    const expected = await inOrderProfile();
    expect(expected).toMatchObject({ rc_subscription_status: 'expired' });

    const order = shuffled(lifecycle, seed);
    console.log(`lifecycle order (seed ${seed}): ${order.map((step) => step.name).join(' → ')}`);
    await deliverOneByOne(ferry, fake, order);

    expect(fake.profile(user)).toEqual(expected);
    const rcNames = events()
      .filter((record) => record.evtName.startsWith('rc_'))
      .map((record) => `${record.evtName}@${record.ts}`);
    expect(rcNames).toHaveLength(lifecycle.length);
    expect(new Set(rcNames).size).toBe(lifecycle.length);
    // Charged for each paid step only, once each, named by its webhook id.
    const charged = events()
      .filter((record) => record.evtName === 'Charged')
      .map((record) => record.evtData['Charged ID'])
      .sort();
    const paid = lifecycle.filter((step) => Number(step.webhook.event['price']) > 0).map((step) => step.webhook.event['id']);
    expect(charged).toEqual([...paid].sort());
  });

  it('all at once, in reverse, ends in the in-order profile', async () => {
    const expected = await inOrderProfile();
    const answers = await Promise.all([...lifecycle].reverse().map((step) => ferry.postWebhook(JSON.stringify(step.webhook))));
    expect(answers.map((answer) => answer.status)).toEqual(lifecycle.map(() => 200));
    await waitFor('every step delivered', () => countRc(fake) === lifecycle.length);
    expect(fake.profile(user)).toEqual(expected);
  });
});
