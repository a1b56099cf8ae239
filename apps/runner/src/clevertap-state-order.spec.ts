import { startFakeCleverTap, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  SANDBOX_ACCOUNT_ID,
  SANDBOX_PASSCODE,
  clevertapDestination,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
  settled,
} from './testing/harness';
import { post, stateWebhook, T0 } from './testing/state-order';

/**
 * SPEC §12 against the fake CleverTap with `profileSync` on, at the plugin's highest concurrency: whatever the
 * order requests go in and complete, the profile ends in the newest event's state.
 */
describe('CleverTap profiles keep the order of subscription states', () => {
  let dir: TempDir;
  let fake: FakeCleverTap;
  let runner: TestRunner | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE, [SANDBOX_ACCOUNT_ID]: SANDBOX_PASSCODE } });
  });

  afterEach(async () => {
    await runner?.runner.close();
    runner = undefined;
    await fake.close();
    await dir.remove();
  });

  afterAll(() => closeHttp());

  async function start(settings: Record<string, unknown> = {}): Promise<TestRunner> {
    const destination = clevertapDestination(fake, { profileSync: true, ...settings }, { concurrency: 15, timeoutMs: 5_000 });
    runner = await startTestRunner(testConfig(dir.path, { destinations: [destination] }));
    return runner;
  }

  /** Posts the webhook and waits until every delivery is final. */
  async function deliver(t: TestRunner, body: string): Promise<void> {
    await post(t, body);
    await waitFor('every delivery final', () => settled(t));
  }

  const status = (user: { identity?: string; objectId?: string }, account?: string) => fake.profile(user, account)?.rc_subscription_status;

  it('a newer EXPIRATION sent while an older RENEWAL’s request is slow leaves the profile expired', async () => {
    const t = await start();
    fake.inject({ type: 'delay', ms: 1_500 });
    await post(t, stateWebhook('renewal', { id: 'renewal', user: 'user-slow', timestampMs: T0 }));
    // The renewal's request is at CleverTap and will take a while: the expiration comes now (the 0.4 s later).
    await waitFor('the renewal’s request at CleverTap', () => fake.requests().length >= 1);
    await post(t, stateWebhook('expiration', { id: 'expiration', user: 'user-slow', timestampMs: T0 + 1_000 }));
    await waitFor('every delivery final', () => settled(t));

    expect(status({ identity: 'user-slow' })).toBe('expired');
    const profiles = fake.records().filter(({ record }) => (record as { type: string }).type === 'profile');
    expect(profiles.map(({ record }) => (record as { profileData: Record<string, string> }).profileData.rc_subscription_status)).toEqual([
      'active',
      'expired',
    ]);
  });

  it('orders by CleverTap profile: an older RENEWAL of another app user id with the same $clevertapId leaves it cancelled', async () => {
    const t = await start();
    const cleverTapId = 'ct-shared-0e4f';
    await deliver(t, stateWebhook('cancellation', { id: 'cancel-a', user: 'user-a', timestampMs: T0 + 1_000, cleverTapId }));
    await deliver(t, stateWebhook('renewal', { id: 'renew-b', user: 'user-b', timestampMs: T0, cleverTapId }));

    expect(status({ objectId: cleverTapId })).toBe('cancelled');
    // The renewal still went, as an event.
    expect(fake.records().filter(({ record }) => (record as { evtName?: string }).evtName === 'rc_renewal_event')).toHaveLength(1);
  });

  it('keeps sandbox and production apart: a newer sandbox event leaves an older production one its state', async () => {
    const t = await start({ sandboxAccountId: SANDBOX_ACCOUNT_ID, sandboxPasscode: SANDBOX_PASSCODE });
    await deliver(t, stateWebhook('expiration', { id: 'sandbox', user: 'user-both', timestampMs: T0 + 1_000, environment: 'SANDBOX' }));
    await deliver(t, stateWebhook('renewal', { id: 'production', user: 'user-both', timestampMs: T0 }));

    expect(status({ identity: 'user-both' }, SANDBOX_ACCOUNT_ID)).toBe('expired');
    expect(status({ identity: 'user-both' }, ACCOUNT_ID)).toBe('active');
  });

  it('lets an older event carry its state when the newer one ended dead, and keeps the mark at what CleverTap holds', async () => {
    const t = await start();
    fake.inject({ type: 'status', status: 400 });
    await deliver(t, stateWebhook('expiration', { id: 'expiration', user: 'user-dead', timestampMs: T0 + 2_000 }));
    expect((await t.runner.store.log.getEvent('expiration'))!.deliveries[0].state).toBe('dead');
    await deliver(t, stateWebhook('renewal', { id: 'renewal', user: 'user-dead', timestampMs: T0 }));
    expect(status({ identity: 'user-dead' })).toBe('active');
    // Newer than what CleverTap holds (the renewal), though older than the dead expiration: it carries its state.
    await deliver(t, stateWebhook('cancellation', { id: 'cancellation', user: 'user-dead', timestampMs: T0 + 1_000 }));
    expect(status({ identity: 'user-dead' })).toBe('cancelled');
  });

  it('erasing a user removes the marks under its aliases and under ids whose original app user id it was', async () => {
    const t = await start();
    await deliver(t, stateWebhook('expiration', { id: 'x-alias', user: 'er-alias', aliases: ['er-a'], timestampMs: T0 + 1_000 }));
    await deliver(t, stateWebhook('expiration', { id: 'x-merged', user: 'er-b', originalAppUserId: 'er-a', timestampMs: T0 + 1_000 }));
    const erased = await t.admin('POST', '/erase', { appUserId: 'er-a' });
    expect(erased.json).toEqual({ erased: 2 });

    // Older events of those ids now carry their state: nothing is left of the erased customer's marks.
    await deliver(t, stateWebhook('renewal', { id: 'r-alias', user: 'er-alias', timestampMs: T0 }));
    await deliver(t, stateWebhook('renewal', { id: 'r-merged', user: 'er-b', timestampMs: T0 }));
    expect([status({ identity: 'er-alias' }), status({ identity: 'er-b' })]).toEqual(['active', 'active']);
  });
});
