import type { DeliveryState } from '@ferry/core';
import {
  fixture,
  fixtures,
  startFakeAmplitude,
  startFakeCleverTap,
  webhookBody,
  type FakeAmplitude,
  type FakeCleverTap,
  type FixtureName,
} from '@ferry/testkit';
import type { ConfigInput } from './config';
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
  type CleverTapRecordShape,
  type TempDir,
  type TestRunner,
} from './testing/harness';

// One runner sends the same webhooks to CleverTap and Amplitude, each through its own fake (SPEC: "One
// destination failing never slows another").

const AMPLITUDE_KEY = 'amp-two-destinations-key-6c1f0e';
const AMPLITUDE_SANDBOX_KEY = 'amp-two-destinations-sandbox-9b4d2a';
const CLEVERTAP_ID = 'a1b2c3d4e5f6478890abcdef12345678';
// Long enough that a hung request outlasts the test: the healthy destination must not wait for it.
const TIMEOUT_MS = 30_000;
const APP_USER_ID = 'user_8f14e45f';

function amplitudeDestination(fake: FakeAmplitude): NonNullable<ConfigInput['destinations']>[number] {
  return {
    id: 'amplitude-main',
    plugin: 'amplitude',
    timeoutMs: TIMEOUT_MS,
    settings: { endpoint: fake.url, apiKey: AMPLITUDE_KEY, sandboxApiKey: AMPLITUDE_SANDBOX_KEY },
  };
}

/** The fixture's webhook with an attribute naming it: CleverTap's records carry no event id to find them by. */
function probedBody(name: FixtureName): string {
  const attributes = fixture(name).webhook.event.subscriber_attributes as Record<string, unknown> | undefined;
  return webhookBody(name, { subscriber_attributes: { ...attributes, ferry_probe: { value: name, updated_at_ms: 1 } } });
}

const clevertapRecords = (fake: FakeCleverTap, account: string, probe: string) =>
  fake
    .records(account)
    .map((stored) => stored.record as CleverTapRecordShape)
    .filter((record) => record.evtData.ferry_probe === probe);

/** Amplitude's events carry the webhook id as `insert_id`. */
const amplitudeEvents = (fake: FakeAmplitude, project: string, name: FixtureName) =>
  fake
    .events(project)
    .map((stored) => stored.event)
    .filter((event) => event['insert_id'] === fixture(name).webhook.event.id);

interface DestinationCounts {
  readonly id: string;
  readonly inFlightRequests: number;
  readonly deliveries: Record<DeliveryState, number>;
}

async function destinations(t: TestRunner): Promise<Record<string, DestinationCounts>> {
  const views: DestinationCounts[] = (await t.admin('GET', '/destinations')).json.destinations;
  return Object.fromEntries(views.map((view) => [view.id, view]));
}

let dir: TempDir;
let clevertap: FakeCleverTap;
let amplitude: FakeAmplitude;
let t: TestRunner;
beforeEach(async () => {
  dir = await tempDir();
  clevertap = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE, [SANDBOX_ACCOUNT_ID]: SANDBOX_PASSCODE } });
  amplitude = await startFakeAmplitude({ projects: { production: AMPLITUDE_KEY, sandbox: AMPLITUDE_SANDBOX_KEY } });
  t = await startTestRunner(
    testConfig(dir.path, {
      destinations: [
        clevertapDestination(
          clevertap,
          { sandboxAccountId: SANDBOX_ACCOUNT_ID, sandboxPasscode: SANDBOX_PASSCODE },
          { timeoutMs: TIMEOUT_MS },
        ),
        amplitudeDestination(amplitude),
      ],
    }),
  );
});
afterEach(async () => {
  // The fakes first: closing one ends its hung requests, so the runner's in-flight deliveries finish at once.
  await Promise.all([clevertap.close(), amplitude.close()]);
  await t.runner.close();
  await dir.remove();
});
afterAll(() => closeHttp());

describe('the fixture library, sent to CleverTap and Amplitude at once', () => {
  /** What neither destination sends, and the rule that skips it (SPEC §3; both plugins' READMEs). */
  const skippedByBoth: Partial<Record<FixtureName, string>> = {
    transfer: 'transfer_not_supported',
    test: 'unsupported_type',
    subscription_extended: 'unsupported_type',
    temporary_entitlement_grant: 'unsupported_type',
    refund_reversed: 'unsupported_type',
    invoice_issuance: 'unsupported_type',
    virtual_currency_transaction: 'unsupported_type',
    experiment_enrollment: 'unsupported_type',
    unknown_type: 'unsupported_type',
  };
  /** CleverTap takes no paused subscriptions; Amplitude does. Everything else both send. */
  const expectedState = (destination: 'clevertap-main' | 'amplitude-main', name: FixtureName) =>
    skippedByBoth[name] ?? (destination === 'clevertap-main' && name === 'subscription_paused' ? 'unsupported_kind' : 'delivered');

  it('reaches each fake as its plugin says, every webhook once at each, skipped ones with their rule', async () => {
    for (const { name } of fixtures) expect((await t.postWebhook(probedBody(name))).status).toBe(200);
    await waitFor('every delivery to settle', async () => {
      const counts = Object.values(await destinations(t));
      return counts.every(({ deliveries }) => deliveries.pending + deliveries.in_flight + deliveries.paused === 0);
    });

    for (const { name, webhook } of fixtures) {
      const { deliveries } = (await t.admin('GET', `/events/${encodeURIComponent(String(webhook.event.id))}`)).json;
      for (const destination of ['clevertap-main', 'amplitude-main'] as const) {
        const delivery = deliveries.find((d: { destinationId: string }) => d.destinationId === destination);
        const want = expectedState(destination, name);
        const seen = { name, destination, state: delivery.state, attempts: delivery.attemptLog.length, reason: delivery.lastError };
        if (want === 'delivered') expect(seen).toEqual({ name, destination, state: 'delivered', attempts: 1, reason: null });
        else expect(seen).toEqual({ name, destination, state: 'skipped', attempts: 0, reason: expect.stringMatching(`^${want}: `) });
      }
      const sandbox = name === 'sandbox_initial_purchase';
      const sentToClevertap = clevertapRecords(clevertap, sandbox ? SANDBOX_ACCOUNT_ID : ACCOUNT_ID, name).length;
      const sentToAmplitude = amplitudeEvents(amplitude, sandbox ? 'sandbox' : 'production', name).length;
      expect({ name, sentToClevertap, sentToAmplitude }).toEqual({
        name,
        sentToClevertap: expectedState('clevertap-main', name) === 'delivered' ? 1 : 0,
        sentToAmplitude: expectedState('amplitude-main', name) === 'delivered' ? 1 : 0,
      });
    }
    // Nothing else arrived: every record and event above is all each fake took.
    expect(clevertap.records()).toHaveLength(fixtures.filter(({ name }) => expectedState('clevertap-main', name) === 'delivered').length);
    expect(amplitude.events()).toHaveLength(fixtures.filter(({ name }) => expectedState('amplitude-main', name) === 'delivered').length);

    // Representative fixtures, in each destination's own terms (SPEC §4; the Amplitude README's event table).
    const [purchase] = clevertapRecords(clevertap, ACCOUNT_ID, 'initial_purchase');
    expect(purchase).toMatchObject({
      evtName: 'rc_initial_purchase_event',
      objectId: CLEVERTAP_ID,
      evtData: { amount: 9.99, currency: 'USD' },
    });
    expect(clevertapRecords(clevertap, ACCOUNT_ID, 'refund')[0]).toMatchObject({
      evtName: 'rc_cancellation_event',
      evtData: { amount: 0 },
    });
    expect(clevertapRecords(clevertap, ACCOUNT_ID, 'jpy_purchase')[0].evtData).toMatchObject({ amount: 1200, currency: 'JPY' });
    expect(clevertapRecords(clevertap, ACCOUNT_ID, 'without_clevertap_id')[0]).toMatchObject({ identity: APP_USER_ID });
    expect(clevertapRecords(clevertap, ACCOUNT_ID, 'without_clevertap_id')[0]).not.toHaveProperty('objectId');

    const [amplitudePurchase] = amplitudeEvents(amplitude, 'production', 'initial_purchase');
    expect(amplitudePurchase).toMatchObject({
      event_type: 'rc_initial_purchase_event',
      user_id: APP_USER_ID,
      revenue: 9.99,
      time: 1740823202000,
    });
    expect(amplitudePurchase).not.toHaveProperty('device_id');
    expect(amplitudeEvents(amplitude, 'production', 'refund')[0]).toMatchObject({ event_type: 'rc_cancellation_event', revenue: -9.99 });
    expect(amplitudeEvents(amplitude, 'production', 'jpy_purchase')[0]).toMatchObject({
      revenue: 8.04,
      event_properties: { currency: 'JPY' },
    });
    expect(amplitudeEvents(amplitude, 'production', 'subscription_paused')[0]).toMatchObject({
      event_type: 'rc_subscription_paused_event',
    });

    // Neither plugin's secrets show in the runner's logs, nor in what its admin API shows of the destinations.
    const shown = t.logs.text() + (await t.admin('GET', '/destinations')).text;
    for (const secret of [PASSCODE, SANDBOX_PASSCODE, AMPLITUDE_KEY, AMPLITUDE_SANDBOX_KEY]) expect(shown).not.toContain(secret);
  });
});

describe('one destination failing while webhooks keep coming', () => {
  const IDS = Array.from({ length: 30 }, (_, i) => `two-destinations-${i}`);
  const renewal = (id: string) => webhookBody('renewal', { id, subscriber_attributes: { ferry_probe: { value: id, updated_at_ms: 1 } } });

  it.each([
    {
      failing: 'clevertap-main',
      healthy: 'amplitude-main',
      how: 'CleverTap leaves every request hanging',
      fail: () => clevertap.injectRandomly({ hang: 1 }),
      attempted: () => clevertap.requests().length > 0,
      // Not one of CleverTap's requests has been answered or timed out: the healthy destination never waited for them.
      stillFailing: (counts: DestinationCounts) =>
        counts.inFlightRequests > 0 && clevertap.requests().every((request) => request.status === null),
      received: () => new Set(amplitude.events('production').map((stored) => stored.event['insert_id'])),
    },
    {
      failing: 'amplitude-main',
      healthy: 'clevertap-main',
      how: 'Amplitude answers every request 503',
      // Far more than the retries of this test can meet: every request fails until the test ends.
      fail: () => amplitude.inject(...Array.from({ length: 20_000 }, () => ({ type: 'status' as const, status: 503 }))),
      attempted: () => amplitude.requests().length > 0,
      stillFailing: () => amplitude.events().length === 0,
      received: () => new Set(clevertap.records(ACCOUNT_ID).map((stored) => (stored.record as CleverTapRecordShape).evtData.ferry_probe)),
    },
  ])(
    '$how: $healthy still delivers every webhook while $failing keeps them pending',
    async ({ failing, healthy, fail, attempted, stillFailing, received }) => {
      fail();
      const [first, second] = [IDS.slice(0, 15), IDS.slice(15)];
      for (const id of first) expect((await t.postWebhook(renewal(id))).status).toBe(200);
      await waitFor(`${failing} to be failing in earnest`, attempted);
      for (const id of second) expect((await t.postWebhook(renewal(id))).status).toBe(200);

      await waitFor(`${healthy} to deliver all ${IDS.length} webhooks`, () => IDS.every((id) => received().has(id)));
      const counts = await destinations(t);
      await waitFor(
        `${healthy} to record every delivery`,
        async () => (await destinations(t))[healthy].deliveries.delivered === IDS.length,
      );
      expect(counts[failing].deliveries).toMatchObject({ delivered: 0, dead: 0, paused: 0 });
      expect(counts[failing].deliveries.pending + counts[failing].deliveries.in_flight).toBe(IDS.length);
      expect(stillFailing(counts[failing])).toBe(true);
    },
  );
});
