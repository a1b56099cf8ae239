import { fixture, fixtures, startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  SANDBOX_ACCOUNT_ID,
  SANDBOX_PASSCODE,
  clevertapDestination,
  closeHttp,
  send,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type CleverTapRecordShape,
  type TempDir,
  type TestRunner,
  settled,
} from './testing/harness';

type FixtureName = (typeof fixtures)[number]['name'];

const LEAN_ACCOUNT_ID = 'TEST-ACC-002';
const LEAN_PASSCODE = 'ct-passcode-lean-6d2f9e';
const CLEVERTAP_ID = 'a1b2c3d4e5f6478890abcdef12345678';
const APP_USER_ID = 'user_8f14e45f';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());
afterAll(() => closeHttp());

/** The fixture's webhook with an extra attribute naming it, so its CleverTap record can be told apart. */
function probedBody(name: FixtureName, overrides: Record<string, unknown> = {}): string {
  const attributes = (fixture(name).webhook.event.subscriber_attributes ?? {}) as Record<string, unknown>;
  return webhookBody(name, { ...overrides, subscriber_attributes: { ...attributes, ferry_probe: { value: name, updated_at_ms: 1 } } });
}

const recordsOf = (fake: FakeCleverTap, account: string, probe: string) =>
  fake
    .records(account)
    .map((stored) => stored.record as CleverTapRecordShape)
    .filter((record) => record.evtData.ferry_probe === probe);

/** Every delivery of the runner in a final state (delivered, skipped, dead), or paused when that is allowed. */
describe('every fixture of the shared catalogue', () => {
  /** What SPEC §3–§4 say CleverTap receives for each fixture (default names, gross revenue), or the rule that skips it. */
  type Expected =
    | {
        evtName: string;
        amount: number;
        currency: string;
        user?: { objectId: string } | { identity: string };
        evtData?: Record<string, unknown>;
        sandbox?: true;
      }
    | { skip: string };
  const sent = (
    evtName: string,
    amount: number,
    currency: string,
    more: Partial<Extract<Expected, { evtName: string }>> = {},
  ): Expected => ({
    evtName,
    amount,
    currency,
    ...more,
  });
  const expected: Record<FixtureName, Expected> = {
    initial_purchase: sent('rc_initial_purchase_event', 9.99, 'USD'),
    trial_started: sent('rc_trial_started_event', 0, 'EUR'),
    trial_converted: sent('rc_trial_converted_event', 49.99, 'EUR'),
    trial_cancelled: sent('rc_trial_cancelled_event', 0, 'EUR', { evtData: { cancel_reason: 'UNSUBSCRIBE' } }),
    renewal: sent('rc_renewal_event', 9.99, 'USD'),
    cancellation: sent('rc_cancellation_event', 0, 'USD', { evtData: { cancel_reason: 'UNSUBSCRIBE' } }),
    refund: sent('rc_cancellation_event', 0, 'USD', { evtData: { cancel_reason: 'CUSTOMER_SUPPORT' } }),
    uncancellation: sent('rc_uncancellation_event', 0, 'USD'),
    non_renewing_purchase: sent('rc_non_subscription_purchase_event', 399, 'INR'),
    expiration: sent('rc_expiration_event', 0, 'USD', { evtData: { expiration_reason: 'UNSUBSCRIBE' } }),
    billing_issue: sent('rc_billing_issue_event', 0, 'USD', { evtData: { grace_period_expiration_at: 1750154400000 } }),
    product_change: sent('rc_product_change_event', 0, 'USD', { evtData: { new_product_id: 'com.example.pro.yearly' } }),
    transfer: { skip: 'transfer_not_supported' },
    test: { skip: 'unsupported_type' },
    sandbox_initial_purchase: sent('rc_initial_purchase_event', 9.99, 'USD', { sandbox: true }),
    subscription_paused: { skip: 'unsupported_kind' },
    subscription_extended: { skip: 'unsupported_type' },
    temporary_entitlement_grant: { skip: 'unsupported_type' },
    refund_reversed: { skip: 'unsupported_type' },
    invoice_issuance: { skip: 'unsupported_type' },
    virtual_currency_transaction: { skip: 'unsupported_type' },
    experiment_enrollment: { skip: 'unsupported_type' },
    unknown_type: { skip: 'unsupported_type' },
    promotional_cancellation: sent('rc_cancellation_event', 0, 'USD'),
    null_prices: sent('rc_initial_purchase_event', 0, 'USD'),
    usd_fallback: sent('rc_renewal_event', 4.99, 'USD'),
    jpy_purchase: sent('rc_initial_purchase_event', 1200, 'JPY'),
    intro_offer: sent('rc_initial_purchase_event', 1.99, 'USD'),
    long_attributes: sent('rc_renewal_event', 9.99, 'USD'),
    clevertap_id_camel_case: sent('rc_renewal_event', 9.99, 'USD', { user: { objectId: 'ct-camel-0001' } }),
    without_clevertap_id: sent('rc_renewal_event', 9.99, 'USD', { user: { identity: APP_USER_ID } }),
    empty_clevertap_id: sent('rc_renewal_event', 9.99, 'USD', { user: { identity: APP_USER_ID } }),
  };
  /** The second destination has no sandbox account and switches two optional kinds off. */
  const leanSkips: Partial<Record<FixtureName, string>> = {
    expiration: 'event_disabled',
    billing_issue: 'event_disabled',
    sandbox_initial_purchase: 'sandbox_without_credentials',
  };

  let fake: FakeCleverTap;
  let t: TestRunner;
  beforeEach(async () => {
    fake = await startFakeCleverTap({
      accounts: { [ACCOUNT_ID]: PASSCODE, [SANDBOX_ACCOUNT_ID]: SANDBOX_PASSCODE, [LEAN_ACCOUNT_ID]: LEAN_PASSCODE },
    });
    t = await startTestRunner(
      testConfig(dir.path, {
        destinations: [
          clevertapDestination(fake, { sandboxAccountId: SANDBOX_ACCOUNT_ID, sandboxPasscode: SANDBOX_PASSCODE }),
          clevertapDestination(
            fake,
            { accountId: LEAN_ACCOUNT_ID, passcode: LEAN_PASSCODE, eventNames: { expiration: null, billing_issue: '' } },
            { id: 'clevertap-lean' },
          ),
        ],
      }),
    );
  });
  afterEach(async () => {
    await t.runner.close();
    await fake.close();
  });

  it('is delivered as SPEC says: sent ones arrive with the right record, skipped ones show their rule', async () => {
    for (const { name } of fixtures) expect((await t.postWebhook(probedBody(name))).status).toBe(200);
    await waitFor('every delivery to settle', () => settled(t));

    for (const { name, webhook } of fixtures) {
      const event = webhook.event as Record<string, unknown>;
      const want = expected[name];
      const detail = (await t.admin('GET', `/events/${encodeURIComponent(String(event.id))}`)).json;
      const main = detail.deliveries.find((delivery: { destinationId: string }) => delivery.destinationId === 'clevertap-main');
      const lean = detail.deliveries.find((delivery: { destinationId: string }) => delivery.destinationId === 'clevertap-lean');

      if ('skip' in want) {
        expect({ name, state: main.state, reason: main.lastError }).toEqual({
          name,
          state: 'skipped',
          reason: expect.stringMatching(`^${want.skip}: `),
        });
        expect(recordsOf(fake, ACCOUNT_ID, name)).toEqual([]);
        continue;
      }
      expect({ name, state: main.state, attempts: main.attemptLog.length }).toEqual({ name, state: 'delivered', attempts: 1 });
      const account = want.sandbox ? SANDBOX_ACCOUNT_ID : ACCOUNT_ID;
      const [record, ...extra] = recordsOf(fake, account, name);
      expect({ name, extra }).toEqual({ name, extra: [] });
      expect({ name, record }).toEqual({
        name,
        record: {
          type: 'event',
          evtName: want.evtName,
          ts: Math.floor(Number(event.event_timestamp_ms) / 1000),
          ...(want.user ?? { objectId: CLEVERTAP_ID }),
          evtData: expect.objectContaining({
            amount: want.amount,
            currency: want.currency,
            product_id: event.product_id,
            ...want.evtData,
          }),
        },
      });
      if (event.app_id) expect(record.evtData.app_id).toBe(event.app_id);
      else expect(record.evtData).not.toHaveProperty('app_id');
      if (want.sandbox) expect(recordsOf(fake, ACCOUNT_ID, name)).toEqual([]);

      const leanSkip = leanSkips[name];
      if (leanSkip) {
        expect({ name, state: lean.state, reason: lean.lastError }).toEqual({
          name,
          state: 'skipped',
          reason: expect.stringMatching(`^${leanSkip}: `),
        });
      } else {
        expect({ name, state: lean.state }).toEqual({ name, state: 'delivered' });
        expect(recordsOf(fake, LEAN_ACCOUNT_ID, name)).toHaveLength(1);
      }
    }
  });

  it('keeps the properties CleverTap would reject out of the record, and still sends it', async () => {
    await t.postWebhook(probedBody('long_attributes'));
    const [record] = await waitFor(
      'the record',
      () => recordsOf(fake, ACCOUNT_ID, 'long_attributes').length === 1 && recordsOf(fake, ACCOUNT_ID, 'long_attributes'),
    );
    const keys = Object.keys(record.evtData);
    expect(keys.every((key) => key.length <= 120)).toBe(true);
    expect(keys.some((key) => key.length === 120)).toBe(true);
    const values = Object.values(record.evtData).filter((value): value is string => typeof value === 'string');
    expect(values.every((value) => Buffer.byteLength(value) <= 512)).toBe(true);
    expect(values).toContain('é'.repeat(200));
  });
});

describe('faults at CleverTap', () => {
  let fake: FakeCleverTap;
  let t: TestRunner;
  afterEach(async () => {
    await t?.runner.close();
    await fake?.close();
  });

  it('5xx, 429, timeouts, resets and garbage answers end with every event delivered', async () => {
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
    t = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake, {}, { timeoutMs: 500 })] }));
    fake.inject(
      { type: 'status', status: 500 },
      { type: 'status', status: 429, headers: { 'retry-after': '0' } },
      { type: 'hang' },
      { type: 'reset-before-store' },
      { type: 'reset-after-store' },
      { type: 'non-json-200' },
      { type: 'status', status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' },
      { type: 'status', status: 503 },
      { type: 'status', status: 429 },
    );
    const ids = Array.from({ length: 30 }, (_, i) => `fault-${i}`);
    const answers = await Promise.all(
      ids.map((id) => t.postWebhook(webhookBody('renewal', { id, subscriber_attributes: { probe: { value: id, updated_at_ms: 1 } } }))),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);

    await waitFor('every delivery to settle', () => settled(t));
    const { deliveries } = (await t.admin('GET', '/deliveries?limit=500')).json;
    expect(deliveries.map((delivery: { state: string }) => delivery.state)).toEqual(Array(30).fill('delivered'));
    // At least once: every event arrived; a reset after the store or a non-JSON 200 may have sent one twice.
    const arrived = new Set(fake.records().map((stored) => (stored.record as CleverTapRecordShape).evtData.probe));
    expect([...arrived].sort()).toEqual([...ids].sort());
    const uploads = fake.requests().filter((request) => request.path === '/1/upload');
    expect(uploads.length).toBeGreaterThan(9); // every scripted fault was met, then the retries went through
  });

  it('a partial answer kills only the records CleverTap rejected; the others are delivered, none sent again', async () => {
    // Stored while the destination has no credentials: paused, so the three are sent later as one batch.
    const noCredentials = await startTestRunner(
      testConfig(dir.path, { destinations: [{ id: 'clevertap-main', plugin: 'clevertap', settings: {} }] }),
    );
    for (const name of ['initial_purchase', 'renewal', 'cancellation'] as const) {
      expect((await noCredentials.postWebhook(probedBody(name))).status).toBe(200);
    }
    const paused = (await noCredentials.admin('GET', '/deliveries?state=paused')).json.deliveries;
    expect(paused).toHaveLength(3);
    const destinations = (await noCredentials.admin('GET', '/destinations')).json.destinations;
    expect(destinations[0]).toMatchObject({
      state: 'paused',
      reason: expect.stringMatching(/settings\.accountId and settings\.passcode are not set/),
    });
    await noCredentials.runner.close();

    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, discardedEvents: ['rc_renewal_event'] });
    t = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake)] }));
    await waitFor('every delivery to settle', () => settled(t));

    const uploads = fake.requests().filter((request) => request.path === '/1/upload');
    expect(uploads).toHaveLength(1);
    expect((uploads[0].body as { d: unknown[] }).d).toHaveLength(3);
    const states = Object.fromEntries(
      await Promise.all(
        (['initial_purchase', 'renewal', 'cancellation'] as const).map(async (name) => {
          const event = (await t.admin('GET', `/events/${fixture(name).webhook.event.id}`)).json;
          return [name, { state: event.deliveries[0].state, error: event.deliveries[0].lastError }];
        }),
      ),
    );
    expect(states).toEqual({
      initial_purchase: { state: 'delivered', error: null },
      renewal: { state: 'dead', error: expect.stringMatching(/528/) },
      cancellation: { state: 'delivered', error: null },
    });
    expect(recordsOf(fake, ACCOUNT_ID, 'initial_purchase')).toHaveLength(1);
    expect(recordsOf(fake, ACCOUNT_ID, 'cancellation')).toHaveLength(1);
    expect(recordsOf(fake, ACCOUNT_ID, 'renewal')).toHaveLength(0);
  });
});

describe('rejected credentials', () => {
  let fake: FakeCleverTap;
  afterEach(() => fake?.close());

  it('pause the destination (nothing dies) until a restart with the right passcode delivers everything', async () => {
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
    const wrong = await startTestRunner(
      testConfig(dir.path, { destinations: [clevertapDestination(fake, { passcode: 'wrong-passcode-4b8e1' })] }),
    );
    try {
      for (const name of ['initial_purchase', 'renewal'] as const) await wrong.postWebhook(probedBody(name));
      const destination = await waitFor('the destination to pause', async () => {
        const [view] = (await wrong.admin('GET', '/destinations')).json.destinations;
        return view.state === 'paused' && view;
      });
      expect(destination.reason).toMatch(/401/);
      await waitFor(
        'both deliveries paused',
        async () => (await wrong.admin('GET', '/deliveries?state=paused')).json.deliveries.length === 2,
      );
      // A webhook arriving while paused waits paused too.
      await wrong.postWebhook(probedBody('cancellation'));
      const [late] = (await wrong.admin('GET', `/events/${fixture('cancellation').webhook.event.id}`)).json.deliveries;
      expect(late.state).toBe('paused');
      expect((await wrong.admin('GET', '/deliveries?state=dead')).json.deliveries).toEqual([]);
      const metrics = (await send('GET', `${wrong.runner.url}/metrics`)).text;
      expect(metrics).toContain('ferry_destination_paused{destination="clevertap-main",cause="credentials"} 1');
      const warnings = wrong.logs.entries().filter((entry) => entry.level === 40 && /paus/i.test(String(entry.msg)));
      expect(warnings.length).toBeGreaterThan(0);
    } finally {
      await wrong.runner.close();
    }

    const right = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake)] }));
    try {
      await waitFor('everything delivered', () => settled(right));
      for (const name of ['initial_purchase', 'renewal', 'cancellation']) expect(recordsOf(fake, ACCOUNT_ID, name)).toHaveLength(1);
      const [view] = (await right.admin('GET', '/destinations')).json.destinations;
      expect(view).toMatchObject({ state: 'running', deliveries: expect.objectContaining({ delivered: 3, paused: 0, dead: 0 }) });
      expect((await send('GET', `${right.runner.url}/metrics`)).text).toContain(
        'ferry_destination_paused{destination="clevertap-main",cause="credentials"} 0',
      );
    } finally {
      await right.runner.close();
    }
  });
});
