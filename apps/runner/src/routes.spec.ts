import {
  startFakeAmplitude,
  startFakeCleverTap,
  webhookBody,
  type FakeAmplitude,
  type FakeCleverTap,
  type FixtureName,
} from '@ferry/testkit';
import type { ConfigInput } from './config';
import { RUNNER_TOKENS } from './container';
import {
  ACCOUNT_ID,
  PASSCODE,
  closeHttp,
  send,
  settled,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type CleverTapRecordShape,
  type TempDir,
  type TestRunner,
} from './testing/harness';
import { createTestSchema, postgresFor, type TestSchema } from './testing/postgres';

// SPEC §13, the done-when test of issue 23 part B: one runner, two RevenueCat sources with their own
// credentials, three destinations with different routes; what each fake destination receives, and why each
// skipped delivery was skipped.

const IOS_AUTHORIZATION = 'Bearer ios-hook-secret-4c8d1e93';
const ANDROID_AUTHORIZATION = 'Bearer android-hook-secret-7f2a9b06';
const PRO_ACCOUNT_ID = 'TEST-PRO-002';
const PRO_PASSCODE = 'ct-pro-passcode-5d9e2c71';
const AMPLITUDE_KEY = 'amp-routes-key-3a7c5e91';

const SOURCES: ConfigInput['sources'] = [
  { id: 'ios', plugin: 'revenuecat', settings: { authorization: IOS_AUTHORIZATION } },
  { id: 'android', plugin: 'revenuecat', settings: { authorization: ANDROID_AUTHORIZATION } },
];
const AUTHORIZATION_OF: Readonly<Record<string, string>> = { ios: IOS_AUTHORIZATION, android: ANDROID_AUTHORIZATION };

type Destination = NonNullable<ConfigInput['destinations']>[number];

/** The three routes: CleverTap for iOS production, Amplitude for Play Store pro products, CleverTap for pro purchases and renewals. */
function destinations(clevertap: FakeCleverTap, amplitude: FakeAmplitude, amplitudeProducts = ['com.example.pro.*']): Destination[] {
  return [
    {
      id: 'ct-ios',
      plugin: 'clevertap',
      timeoutMs: 2_000,
      settings: { endpoint: clevertap.url, accountId: ACCOUNT_ID, passcode: PASSCODE },
      sources: ['ios'],
      filter: { environments: ['PRODUCTION'] },
    },
    {
      id: 'amp-play',
      plugin: 'amplitude',
      timeoutMs: 2_000,
      settings: { endpoint: amplitude.url, apiKey: AMPLITUDE_KEY },
      filter: { stores: ['PLAY_STORE'], products: amplitudeProducts },
    },
    {
      id: 'ct-pro',
      plugin: 'clevertap',
      timeoutMs: 2_000,
      settings: { endpoint: clevertap.url, accountId: PRO_ACCOUNT_ID, passcode: PRO_PASSCODE },
      filter: { kinds: ['renewal', 'initial_purchase'], entitlements: ['pro'] },
    },
  ];
}

/** A webhook, its source, and per destination what becomes of it: delivered, or the skip's reason. */
interface Case {
  readonly id: string;
  readonly source: 'ios' | 'android';
  readonly fixture: FixtureName;
  readonly event: Record<string, unknown>;
  readonly expected: Readonly<Record<'ct-ios' | 'amp-play' | 'ct-pro', string>>;
}

const DELIVERED = 'delivered';

const CASES: readonly Case[] = [
  {
    id: 'ios-production-purchase',
    source: 'ios',
    fixture: 'initial_purchase',
    event: { store: 'APP_STORE', environment: 'PRODUCTION', product_id: 'com.example.pro.monthly', entitlement_ids: ['pro'] },
    expected: { 'ct-ios': DELIVERED, 'amp-play': 'route: filter.stores: APP_STORE is not one of PLAY_STORE', 'ct-pro': DELIVERED },
  },
  {
    id: 'ios-sandbox-renewal',
    source: 'ios',
    fixture: 'renewal',
    event: { store: 'APP_STORE', environment: 'SANDBOX', product_id: 'com.example.basic.monthly', entitlement_ids: ['basic'] },
    expected: {
      'ct-ios': 'route: filter.environments: SANDBOX is not one of PRODUCTION',
      'amp-play': 'route: filter.stores: APP_STORE is not one of PLAY_STORE',
      'ct-pro': 'route: filter.entitlements: basic is not one of pro',
    },
  },
  {
    id: 'android-pro-renewal',
    source: 'android',
    fixture: 'renewal',
    event: { store: 'PLAY_STORE', environment: 'PRODUCTION', product_id: 'com.example.pro.annual', entitlement_ids: ['plus', 'pro'] },
    expected: { 'ct-ios': 'route: source android is not routed to ct-ios', 'amp-play': DELIVERED, 'ct-pro': DELIVERED },
  },
  {
    id: 'android-basic-expiration',
    source: 'android',
    fixture: 'expiration',
    event: { store: 'PLAY_STORE', environment: 'PRODUCTION', product_id: 'com.example.basic.monthly', entitlement_ids: ['pro'] },
    expected: {
      'ct-ios': 'route: source android is not routed to ct-ios',
      'amp-play': 'route: filter.products: com.example.basic.monthly is not one of com.example.pro.*',
      'ct-pro': 'route: filter.kinds: expiration is not one of renewal, initial_purchase',
    },
  },
];

/** The webhook of a case: its own id, and its id as the user, so each destination's records name their webhook. */
const bodyOf = ({ id, fixture, event }: Pick<Case, 'id' | 'fixture' | 'event'>) =>
  webhookBody(fixture, {
    id,
    app_user_id: `user-${id}`,
    original_app_user_id: `user-${id}`,
    aliases: [`user-${id}`],
    subscriber_attributes: {},
    ...event,
  });

const post = (t: TestRunner, source: string, body: string, authorization = AUTHORIZATION_OF[source]) =>
  t.postWebhookTo(source, body, { authorization });

/** The users of the webhooks a CleverTap account received events of. */
const clevertapUsers = (fake: FakeCleverTap, account: string) =>
  fake
    .records(account)
    .map((stored) => stored.record as CleverTapRecordShape)
    .filter((record) => record.type === 'event')
    .map((record) => record.identity)
    .sort();

const amplitudeUsers = (fake: FakeAmplitude) =>
  fake
    .events('production')
    .map((stored) => stored.event['user_id'])
    .sort();

/** Per destination, `delivered` or the stored reason of its skip, as the admin API shows the event. */
async function outcomes(t: TestRunner, id: string): Promise<Record<string, string>> {
  const view = (await t.admin('GET', `/events/${id}`)).json;
  return Object.fromEntries(
    (view.deliveries as { destinationId: string; state: string; lastError: string | null }[]).map((delivery) => [
      delivery.destinationId,
      delivery.state === 'skipped' ? String(delivery.lastError) : delivery.state,
    ]),
  );
}

interface StoreBackend {
  readonly name: string;
  /** A store URL of its own for one test, and how to remove it. */
  fresh(dir: TempDir): Promise<{ url: string; dispose(): Promise<void> }>;
}

const databaseUrl = postgresFor('routes on Postgres');
const BACKENDS: StoreBackend[] = [
  { name: 'SQLite', fresh: async (dir) => ({ url: `sqlite:${dir.path}/ferry.db`, dispose: async () => undefined }) },
  ...(databaseUrl
    ? [
        {
          name: 'Postgres',
          fresh: async () => {
            const schema: TestSchema = await createTestSchema(databaseUrl, 'routes');
            return { url: schema.url, dispose: () => schema.drop() };
          },
        },
      ]
    : []),
];

afterAll(() => closeHttp());

describe.each(BACKENDS)('two sources and three routed destinations on $name', (backend) => {
  let dir: TempDir;
  let clevertap: FakeCleverTap;
  let amplitude: FakeAmplitude;
  let store: { url: string; dispose(): Promise<void> };
  let t: TestRunner | undefined;

  const start = async (amplitudeProducts?: string[]) => {
    const config = testConfig(dir.path, {
      store: { url: store.url },
      sources: SOURCES,
      destinations: destinations(clevertap, amplitude, amplitudeProducts),
    });
    t = await startTestRunner(config);
    return t;
  };

  beforeEach(async () => {
    dir = await tempDir();
    store = await backend.fresh(dir);
    clevertap = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE, [PRO_ACCOUNT_ID]: PRO_PASSCODE } });
    amplitude = await startFakeAmplitude({ projects: { production: AMPLITUDE_KEY } });
  });
  afterEach(async () => {
    await t?.runner.close();
    t = undefined;
    await Promise.all([clevertap.close(), amplitude.close()]);
    await store.dispose();
    await dir.remove();
  });

  it('delivers each webhook where its route takes it and skips the rest with rule route, naming the field and values', async () => {
    const runner = await start();
    for (const webhook of CASES) {
      const answer = await post(runner, webhook.source, bodyOf(webhook));
      expect({ id: webhook.id, status: answer.status, json: answer.json }).toEqual({
        id: webhook.id,
        status: 200,
        json: { status: 'stored', id: webhook.id },
      });
    }
    await waitFor('every delivery to settle', () => settled(runner));

    for (const webhook of CASES) {
      expect({ id: webhook.id, outcomes: await outcomes(runner, webhook.id) }).toEqual({ id: webhook.id, outcomes: webhook.expected });
      expect((await runner.admin('GET', `/events/${webhook.id}`)).json.source).toBe(webhook.source);
    }
    // Exactly what each fake destination received, nothing more.
    expect(clevertapUsers(clevertap, ACCOUNT_ID)).toEqual(['user-ios-production-purchase']);
    expect(clevertapUsers(clevertap, PRO_ACCOUNT_ID)).toEqual(['user-android-pro-renewal', 'user-ios-production-purchase']);
    expect(amplitudeUsers(amplitude)).toEqual(['user-android-pro-renewal']);
  });

  it("checks each source's own credential, answers 404 for an unknown source, and keeps event ids unique across sources", async () => {
    const runner = await start();
    const [iosPurchase] = CASES;
    // One source's credential is refused on the other's path, before the body is read; no credential neither.
    const crossed = await post(runner, 'android', bodyOf(iosPurchase), IOS_AUTHORIZATION);
    expect(crossed.status).toBe(401);
    expect(crossed.json.error).toMatch(/Authorization header does not match/);
    expect((await runner.postWebhookTo('ios', bodyOf(iosPurchase))).status).toBe(401);
    const unknown = await runner.postWebhookTo('windows-phone', bodyOf(iosPurchase), { authorization: IOS_AUTHORIZATION });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/no source is configured with this id/);
    expect((await runner.admin('GET', `/events/${iosPurchase.id}`)).status).toBe(404);

    expect((await post(runner, 'ios', bodyOf(iosPurchase))).json).toEqual({ status: 'stored', id: iosPurchase.id });
    // The same id through the other source: a duplicate, delivered nothing more, and a warning naming both sources.
    expect((await post(runner, 'android', bodyOf(iosPurchase))).json).toEqual({ status: 'duplicate', id: iosPurchase.id });
    expect((await post(runner, 'ios', bodyOf(iosPurchase))).json).toEqual({ status: 'duplicate', id: iosPurchase.id });
    const warnings = runner.logs
      .entries()
      .filter((entry) => entry.level === 40 && String(entry.msg).includes('already stored through source'));
    expect(warnings.map((entry) => entry.msg)).toEqual([
      'event id already stored through source ios, now received through source android: answered duplicate, delivered nothing',
    ]);
    expect(warnings[0]).toMatchObject({ eventId: iosPurchase.id, source: 'android', storedSource: 'ios' });
    await waitFor('the deliveries to settle', () => settled(runner));
    expect(clevertapUsers(clevertap, ACCOUNT_ID)).toEqual(['user-ios-production-purchase']);
    expect((await runner.admin('GET', `/events/${iosPurchase.id}`)).json.source).toBe('ios');

    // Counted per source, an unknown one under one label that no URL can add to.
    const metrics = (await send('GET', `${runner.runner.url}/metrics`)).text;
    expect(metrics).toMatch(/^ferry_webhooks_total\{source="ios",outcome="duplicate"\} 1$/m);
    expect(metrics).toMatch(/^ferry_webhooks_total\{source="android",outcome="duplicate"\} 1$/m);
    expect(metrics).toMatch(/^ferry_webhooks_total\{source="android",outcome="unauthorized"\} 1$/m);
    expect(metrics).toMatch(/^ferry_webhooks_total\{source="\(unknown\)",outcome="unknown_source"\} 1$/m);
    expect(metrics).not.toContain('windows-phone');
    const counts = runner.services.get(RUNNER_TOKENS.Metrics).webhookCountsBySource();
    expect(Object.fromEntries(counts)).toEqual({ ios: { duplicate: 1, rejected: 1 }, android: { duplicate: 1, rejected: 1 } });
    // No credential in the log.
    for (const secret of [IOS_AUTHORIZATION, ANDROID_AUTHORIZATION, 'ios-hook-secret-4c8d1e93', 'android-hook-secret-7f2a9b06'])
      expect(runner.logs.text()).not.toContain(secret);
  });

  it('turns a waiting backlog into route skips when a narrowed route is restarted on the same store', async () => {
    const first = await start();
    expect((await first.admin('POST', '/destinations/amp-play/pause', { reason: 'maintenance' })).status).toBe(200);
    const backlog = [
      { id: 'backlog-annual', fixture: 'renewal' as const, event: { store: 'PLAY_STORE', product_id: 'com.example.pro.annual' } },
      { id: 'backlog-monthly', fixture: 'renewal' as const, event: { store: 'PLAY_STORE', product_id: 'com.example.pro.monthly' } },
    ];
    for (const webhook of backlog) expect((await post(first, 'android', bodyOf(webhook))).status).toBe(200);
    await waitFor('the backlog to wait', async () => (await outcomes(first, 'backlog-monthly'))['amp-play'] === 'paused');
    await first.runner.close();
    t = undefined;

    const second = await start(['com.example.pro.annual']);
    expect((await second.admin('POST', '/destinations/amp-play/resume')).status).toBe(200);
    await waitFor('the backlog to settle', () => settled(second));
    expect((await outcomes(second, 'backlog-annual'))['amp-play']).toBe(DELIVERED);
    expect((await outcomes(second, 'backlog-monthly'))['amp-play']).toBe(
      'route: filter.products: com.example.pro.monthly is not one of com.example.pro.annual',
    );
    expect(amplitudeUsers(amplitude)).toEqual(['user-backlog-annual']);
  });
});

describe('sources as configured over time, on SQLite', () => {
  let dir: TempDir;
  let clevertap: FakeCleverTap;
  let t: TestRunner | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    clevertap = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
  });
  afterEach(async () => {
    await t?.runner.close();
    t = undefined;
    await clevertap.close();
    await dir.remove();
  });

  const clevertapTo = (extra: Partial<Destination> = {}): Destination => ({
    id: 'ct',
    plugin: 'clevertap',
    timeoutMs: 2_000,
    settings: { endpoint: clevertap.url, accountId: ACCOUNT_ID, passcode: PASSCODE },
    ...extra,
  });

  it('the object form still serves /webhooks/revenuecat, and its events, as stored, go on under the list form', async () => {
    // Paused, so the event waits in the store as an older runner (object form, `revenuecat`) left it.
    const legacy = testConfig(dir.path, { destinations: [clevertapTo()] });
    t = await startTestRunner(legacy);
    expect(t.runner.config.sources.map((source) => source.id)).toEqual(['revenuecat']);
    expect((await t.admin('POST', '/destinations/ct/pause', {})).status).toBe(200);
    expect((await t.postWebhook(bodyOf({ id: 'legacy-1', fixture: 'renewal', event: {} }))).json).toEqual({
      status: 'stored',
      id: 'legacy-1',
    });
    expect((await t.postWebhookTo('ios', bodyOf({ id: 'legacy-2', fixture: 'renewal', event: {} }))).status).toBe(404);
    await t.runner.close();

    // The list form naming the same id: the stored event's source still decodes, and a route may name it.
    t = await startTestRunner(
      testConfig(dir.path, {
        sources: [
          { id: 'ios', plugin: 'revenuecat', settings: { authorization: IOS_AUTHORIZATION } },
          { id: 'revenuecat', plugin: 'revenuecat', settings: {} },
        ],
        destinations: [clevertapTo({ sources: ['revenuecat'] })],
      }),
    );
    expect((await t.admin('POST', '/destinations/ct/resume')).status).toBe(200);
    await waitFor('the delivery', () => settled(t!));
    expect(await outcomes(t, 'legacy-1')).toEqual({ ct: DELIVERED });
    expect(clevertapUsers(clevertap, ACCOUNT_ID)).toEqual(['user-legacy-1']);
  });

  it('sets a delivery whose source is no longer configured aside as dead, saying why, and replays it once the source is back', async () => {
    const both = testConfig(dir.path, { sources: SOURCES, destinations: [clevertapTo()] });
    t = await startTestRunner(both);
    await t.admin('POST', '/destinations/ct/pause', {});
    expect((await post(t, 'android', bodyOf({ id: 'orphaned-source', fixture: 'renewal', event: {} }))).status).toBe(200);
    await t.runner.close();

    t = await startTestRunner(testConfig(dir.path, { sources: [SOURCES[0]], destinations: [clevertapTo()] }));
    await t.admin('POST', '/destinations/ct/resume');
    await waitFor('the delivery to go dead', async () => (await outcomes(t!, 'orphaned-source')).ct === 'dead');
    const [delivery] = (await t.admin('GET', '/events/orphaned-source')).json.deliveries;
    expect(delivery.lastError).toMatch(/its source "android" is no longer configured; configure it again, then replay the delivery/);
    expect((await t.postWebhookTo('android', bodyOf({ id: 'late', fixture: 'renewal', event: {} }))).status).toBe(404);
    await t.runner.close();

    t = await startTestRunner(both);
    expect((await t.admin('POST', '/replay', { eventIds: ['orphaned-source'], states: ['dead'] })).status).toBe(202);
    await waitFor('the replayed delivery', async () => (await outcomes(t!, 'orphaned-source')).ct === DELIVERED);
    expect(clevertapUsers(clevertap, ACCOUNT_ID)).toEqual(['user-orphaned-source']);
  });

  it('previews a webhook as coming through a named source, every destination with its verdict', async () => {
    t = await startTestRunner(
      testConfig(dir.path, { sources: SOURCES, destinations: [clevertapTo({ sources: ['ios'] }), clevertapTo({ id: 'ct-all' })] }),
    );
    const webhook = JSON.parse(bodyOf({ id: 'preview-1', fixture: 'renewal', event: {} }));
    const byDefault = (await t.admin('POST', '/preview', webhook)).json;
    expect(byDefault.event.source).toBe('ios');
    expect(byDefault.destinations.map((preview: { status: string }) => preview.status)).toEqual(['send', 'send']);
    const android = (await t.admin('POST', '/preview?source=android', webhook)).json;
    expect(android.event.source).toBe('android');
    expect(android.destinations).toEqual([
      { destinationId: 'ct', plugin: 'clevertap', status: 'skip', rule: 'route', reason: 'source android is not routed to ct' },
      expect.objectContaining({ destinationId: 'ct-all', status: 'send' }),
    ]);
    const unknown = await t.admin('POST', '/preview?source=nope', webhook);
    expect(unknown.status).toBe(400);
    expect(unknown.json.issues).toEqual([{ path: 'source', message: 'unknown source "nope"; configured sources: ios, android' }]);
  });
});
