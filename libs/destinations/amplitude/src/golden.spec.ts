/**
 * Golden tests: for every fixture of the shared catalogue, the exact Amplitude request (or the skip rule),
 * written by hand from reference/amplitude.md §2 and the fixture data (reference/revenuecat-webhooks.md §8).
 * Settings: region us, gross revenue, a production and a sandbox API key.
 */
import type { SubscriptionEvent } from '@ferry/core';
import { describeGoldenCatalogue, fixtureEvent, type FixtureName, type GoldenExpectation, type GoldenSend } from '@ferry/testkit';
import { amplitudePlugin as plugin } from './plugin';
import { AmplitudeSettings } from './settings';

const settings = AmplitudeSettings.parse({ apiKey: 'GOLDEN-API-KEY', sandboxApiKey: 'GOLDEN-SANDBOX-KEY' });
const URL = 'https://api2.amplitude.com/2/httpapi';
const API_KEYS = { production: 'GOLDEN-API-KEY', sandbox: 'GOLDEN-SANDBOX-KEY' };

const USER = 'user_8f14e45f';
const ANONYMOUS = '$RCAnonymousID:0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const ALIASES = [ANONYMOUS, USER];
const APP_ID = 'app1a2b3c4d5';
const MONTHLY = 'com.example.pro.monthly';
const PLAY_ANNUAL = 'premium:annual-autorenew';
const id = (n: number) => `5b1e7c9a-0d3f-4a61-9e2b-7f4c8a1d2e${String(n).padStart(2, '0')}`;

/** `ATTRS` of the reference, flattened to `key: value`. */
const ATTRS = {
  $email: 'ana@example.com',
  $displayName: 'Ana Lima',
  $clevertapId: 'a1b2c3d4e5f6478890abcdef12345678',
  $idfv: '6F9619FF-8B86-4011-B42D-00C04FC964FF',
  $ip: '203.0.113.7',
  onboarding_goal: 'fitness',
};
const { $clevertapId: _, ...ATTRS_WITHOUT_CLEVERTAP_ID } = ATTRS;

// The fixtures' instants, in whole seconds as RevenueCat writes them for Amplitude.
const MAR_1 = '2025-03-01T10:00:00Z'; // 1740823200000
const MAR_8 = '2025-03-08T10:00:00Z'; // 1741428000000
const MAR_8_2026 = '2026-03-08T10:00:00Z'; // 1772964000000
const APR_1 = '2025-04-01T10:00:00Z'; // 1743501600000
const MAY_1 = '2025-05-01T10:00:00Z'; // 1746093600000
const JUN_1 = '2025-06-01T10:00:00Z'; // 1748772000000
const JUN_5 = '2025-06-05T12:00:00Z'; // 1749124800000
const JUN_17 = '2025-06-17T10:00:00Z'; // 1750154400000
const JUL_3 = '2025-07-03T09:00:00Z'; // 1751533200000
const JUL_3_PLUS_5_MIN = '2025-07-03T09:05:00Z'; // 1751533500000

/** event_properties of S1 (paid App Store purchase); each fixture lists what differs. */
const S1_PROPERTIES = {
  subscriber_attributes: ATTRS,
  period_type: 'NORMAL',
  purchased_at: MAR_1,
  expiration_at: APR_1,
  environment: 'PRODUCTION',
  entitlement_id: null,
  entitlement_ids: ['pro'],
  presented_offering_id: 'default',
  transaction_id: '2000000811112222',
  original_transaction_id: '2000000811112222',
  aliases: ALIASES,
  original_app_user_id: ANONYMOUS,
  store: 'APP_STORE',
  app_user_id: USER,
  product_id: MONTHLY,
  currency: 'USD',
  revenue: 9.99,
  app_id: APP_ID,
};
/** S5 (App Store renewal) keeps S1's original transaction. */
const S5_PROPERTIES = { ...S1_PROPERTIES, purchased_at: APR_1, expiration_at: MAY_1, transaction_id: '2000000822223333' };
/** S2 (Play Store trial in Germany). */
const S2_PROPERTIES = {
  ...S1_PROPERTIES,
  period_type: 'TRIAL',
  purchased_at: MAR_1,
  expiration_at: MAR_8,
  transaction_id: 'GPA.3312-4455-6677-88990',
  original_transaction_id: 'GPA.3312-4455-6677-88990',
  store: 'PLAY_STORE',
  product_id: PLAY_ANNUAL,
  currency: 'EUR',
  revenue: 0,
};

interface Send {
  readonly project: keyof typeof API_KEYS;
  readonly event: Record<string, unknown>;
}
type Golden = GoldenExpectation<Send>;

function event(
  eventType: string,
  n: number,
  time: number,
  more: {
    platform?: string;
    revenue: number;
    productId?: string;
    status?: string;
    properties: Record<string, unknown>;
    user?: Record<string, string>;
  },
) {
  return {
    event_type: eventType,
    ...(more.user ?? { user_id: USER }),
    time,
    insert_id: id(n),
    ...(more.platform !== undefined && { platform: more.platform }),
    revenue: more.revenue,
    ...(more.productId !== undefined && { productId: more.productId }),
    event_properties: more.properties,
    ...(more.status !== undefined && { user_properties: { rc_subscription_status: more.status } }),
  };
}
const production = (e: Record<string, unknown>): Golden => ({ send: { project: 'production', event: e } });

const KEY_121 = 'key_of_121_chars_'.padEnd(121, 'k');
const KEY_120 = 'key_of_120_chars_'.padEnd(120, 'k');

const golden: Record<FixtureName, Golden> = {
  initial_purchase: production(
    event('rc_initial_purchase_event', 1, 1740823202000, {
      platform: 'iOS',
      revenue: 9.99,
      productId: MONTHLY,
      status: 'active',
      properties: S1_PROPERTIES,
    }),
  ),
  trial_started: production(
    event('rc_trial_started_event', 2, 1740823203000, {
      platform: 'Android',
      revenue: 0,
      productId: PLAY_ANNUAL,
      status: 'trial',
      properties: S2_PROPERTIES,
    }),
  ),
  trial_converted: production(
    event('rc_trial_converted_event', 3, 1741428192000, {
      platform: 'Android',
      revenue: 54.37,
      productId: PLAY_ANNUAL,
      status: 'active',
      properties: {
        ...S2_PROPERTIES,
        period_type: 'NORMAL',
        purchased_at: MAR_8,
        expiration_at: MAR_8_2026,
        transaction_id: 'GPA.3312-4455-6677-88990..0',
        revenue: 54.37,
      },
    }),
  ),
  trial_cancelled: production(
    event('rc_trial_cancelled_event', 4, 1741285900000, {
      platform: 'Android',
      revenue: 0,
      productId: PLAY_ANNUAL,
      status: 'cancelled_trial',
      properties: { ...S2_PROPERTIES, cancel_reason: 'UNSUBSCRIBE' },
    }),
  ),
  renewal: production(
    event('rc_renewal_event', 5, 1743501605000, {
      platform: 'iOS',
      revenue: 9.99,
      productId: MONTHLY,
      status: 'active',
      properties: S5_PROPERTIES,
    }),
  ),
  cancellation: production(
    event('rc_cancellation_event', 6, 1744319649000, {
      platform: 'iOS',
      revenue: 0,
      productId: MONTHLY,
      status: 'cancelled',
      properties: { ...S5_PROPERTIES, revenue: 0, cancel_reason: 'UNSUBSCRIBE' },
    }),
  ),
  refund: production(
    event('rc_cancellation_event', 7, 1744989631000, {
      platform: 'iOS',
      revenue: -9.99,
      productId: MONTHLY,
      status: 'cancelled',
      properties: { ...S5_PROPERTIES, revenue: -9.99, cancel_reason: 'CUSTOMER_SUPPORT' },
    }),
  ),
  uncancellation: production(
    event('rc_uncancellation_event', 8, 1744444964000, {
      platform: 'iOS',
      revenue: 0,
      productId: MONTHLY,
      status: 'active',
      properties: { ...S5_PROPERTIES, revenue: 0 },
    }),
  ),
  non_renewing_purchase: production(
    event('rc_non_subscription_purchase_event', 9, 1749124801000, {
      platform: 'iOS',
      revenue: 4.79,
      productId: 'com.example.coins.500',
      properties: {
        ...S1_PROPERTIES,
        purchased_at: JUN_5,
        expiration_at: null,
        entitlement_ids: null,
        presented_offering_id: 'coins',
        transaction_id: '2000000833334444',
        original_transaction_id: '2000000833334444',
        product_id: 'com.example.coins.500',
        currency: 'INR',
        revenue: 4.79,
      },
    }),
  ),
  expiration: production(
    event('rc_expiration_event', 10, 1746096077000, {
      platform: 'iOS',
      revenue: 0,
      productId: MONTHLY,
      status: 'expired',
      properties: { ...S5_PROPERTIES, revenue: 0, expiration_reason: 'UNSUBSCRIBE' },
    }),
  ),
  billing_issue: production(
    event('rc_billing_issue_event', 11, 1748772004000, {
      platform: 'iOS',
      revenue: 0,
      productId: MONTHLY,
      status: 'grace_period',
      properties: {
        ...S1_PROPERTIES,
        purchased_at: MAY_1,
        expiration_at: JUN_1,
        transaction_id: '2000000844445555',
        revenue: 0,
        grace_period_expiration_at: JUN_17,
      },
    }),
  ),
  product_change: production(
    event('rc_product_change_event', 12, 1747040402000, {
      platform: 'iOS',
      revenue: 0,
      productId: MONTHLY,
      properties: { ...S1_PROPERTIES, purchased_at: MAY_1, expiration_at: JUN_1, revenue: 0, new_product_id: 'com.example.pro.yearly' },
    }),
  ),
  transfer: { skip: 'transfer_not_supported' },
  test: { skip: 'unsupported_type' },
  sandbox_initial_purchase: {
    send: {
      project: 'sandbox',
      event: event('rc_initial_purchase_event', 15, 1751533201000, {
        platform: 'iOS',
        revenue: 9.99,
        productId: MONTHLY,
        status: 'active',
        properties: {
          ...S1_PROPERTIES,
          purchased_at: JUL_3,
          expiration_at: JUL_3_PLUS_5_MIN,
          environment: 'SANDBOX',
          transaction_id: '2000000855556666',
          original_transaction_id: '2000000855556666',
        },
      }),
    },
  },
  subscription_paused: production(
    event('rc_subscription_paused_event', 16, 1745000000000, {
      platform: 'Android',
      revenue: 0,
      productId: 'premium:monthly-autorenew',
      status: 'paused',
      properties: {
        ...S5_PROPERTIES,
        transaction_id: 'GPA.3312-4455-6677-99001..1',
        original_transaction_id: 'GPA.3312-4455-6677-99001',
        store: 'PLAY_STORE',
        product_id: 'premium:monthly-autorenew',
        revenue: 0,
        auto_resume_at: JUN_1,
      },
    }),
  ),
  subscription_extended: { skip: 'unsupported_type' },
  temporary_entitlement_grant: { skip: 'unsupported_type' },
  refund_reversed: { skip: 'unsupported_type' },
  invoice_issuance: { skip: 'unsupported_type' },
  virtual_currency_transaction: { skip: 'unsupported_type' },
  experiment_enrollment: { skip: 'unsupported_type' },
  unknown_type: { skip: 'unsupported_type' },
  promotional_cancellation: production(
    event('rc_cancellation_event', 24, 1744319649000, {
      revenue: 0,
      productId: 'rc_promo_pro_monthly',
      status: 'cancelled',
      properties: {
        ...S5_PROPERTIES,
        period_type: 'PROMOTIONAL',
        transaction_id: 'promo_0a1b2c3d',
        original_transaction_id: 'promo_0a1b2c3d',
        store: 'PROMOTIONAL',
        product_id: 'rc_promo_pro_monthly',
        revenue: 0,
        cancel_reason: 'DEVELOPER_INITIATED',
        app_id: null,
      },
    }),
  ),
  null_prices: production(
    event('rc_initial_purchase_event', 25, 1740823202000, {
      platform: 'iOS',
      revenue: 0,
      productId: MONTHLY,
      status: 'active',
      properties: { ...S1_PROPERTIES, currency: null, revenue: 0 },
    }),
  ),
  usd_fallback: production(
    event('rc_renewal_event', 26, 1743501605000, {
      platform: 'iOS',
      revenue: 4.99,
      productId: MONTHLY,
      status: 'active',
      properties: { ...S5_PROPERTIES, currency: null, revenue: 4.99 },
    }),
  ),
  jpy_purchase: production(
    event('rc_initial_purchase_event', 27, 1740823202000, {
      platform: 'iOS',
      revenue: 8.04,
      productId: MONTHLY,
      status: 'active',
      properties: { ...S1_PROPERTIES, currency: 'JPY', revenue: 8.04 },
    }),
  ),
  intro_offer: production(
    event('rc_initial_purchase_event', 28, 1740823202000, {
      platform: 'iOS',
      revenue: 1.99,
      productId: MONTHLY,
      status: 'intro',
      properties: { ...S1_PROPERTIES, period_type: 'INTRO', revenue: 1.99 },
    }),
  ),
  // Amplitude takes strings of up to 1024 characters, so nothing of these is left out.
  long_attributes: production(
    event('rc_renewal_event', 29, 1743501605000, {
      platform: 'iOS',
      revenue: 9.99,
      productId: MONTHLY,
      status: 'active',
      properties: {
        ...S5_PROPERTIES,
        subscriber_attributes: {
          ...ATTRS,
          [KEY_121]: 'x',
          [KEY_120]: 'allowed',
          value_of_513_bytes: 'v'.repeat(513),
          value_of_400_bytes: 'é'.repeat(200),
          value_of_600_bytes: 'é'.repeat(300),
        },
      },
    }),
  ),
  clevertap_id_camel_case: production(
    event('rc_renewal_event', 30, 1743501605000, {
      platform: 'iOS',
      revenue: 9.99,
      productId: MONTHLY,
      status: 'active',
      properties: { ...S5_PROPERTIES, subscriber_attributes: { ...ATTRS_WITHOUT_CLEVERTAP_ID, $cleverTapId: 'ct-camel-0001' } },
    }),
  ),
  without_clevertap_id: production(
    event('rc_renewal_event', 31, 1743501605000, {
      platform: 'iOS',
      revenue: 9.99,
      productId: MONTHLY,
      status: 'active',
      properties: { ...S5_PROPERTIES, subscriber_attributes: ATTRS_WITHOUT_CLEVERTAP_ID },
    }),
  ),
  empty_clevertap_id: production(
    event('rc_renewal_event', 32, 1743501605000, {
      platform: 'iOS',
      revenue: 9.99,
      productId: MONTHLY,
      status: 'active',
      properties: { ...S5_PROPERTIES, subscriber_attributes: { ...ATTRS, $clevertapId: '' } },
    }),
  ),
};

/** One request per project, production first, each carrying its sends in batch order. */
function expectedRequests(sends: readonly GoldenSend<Send>[]) {
  return (['production', 'sandbox'] as const).flatMap((project) => {
    const carried = sends.filter(({ send }) => send.project === project);
    if (carried.length === 0) return [];
    return [
      {
        method: 'POST',
        url: URL,
        headers: { 'Content-Type': 'application/json' },
        body: { api_key: API_KEYS[project], events: carried.map(({ send }) => send.event), options: { min_id_length: 1 } },
        deliveryIds: carried.map(({ deliveryId }) => deliveryId),
        concurrencyKey: `amplitude:${project}`,
      },
    ];
  });
}

describeGoldenCatalogue(plugin, { settings, expected: golden, where: (send) => `the ${send.project} project`, requests: expectedRequests });

describe('golden rules under other settings', () => {
  const firstEvent = (e: SubscriptionEvent, s: AmplitudeSettings) => {
    const [request] = plugin.buildRequests([{ deliveryId: 'x', event: e }], s);
    return { url: request.url, event: JSON.parse(request.body).events[0] };
  };

  it('skips the sandbox purchase when no sandbox key is configured', () => {
    const noSandbox = AmplitudeSettings.parse({ apiKey: 'GOLDEN-API-KEY' });
    expect(plugin.filter(fixtureEvent('sandbox_initial_purchase'), noSandbox)?.rule).toBe('sandbox_without_credentials');
    expect(plugin.filter(fixtureEvent('initial_purchase'), noSandbox)).toBeUndefined();
  });

  it('skips each of the six optional kinds when its name is switched off', () => {
    const off = AmplitudeSettings.parse({
      ...settings,
      eventNames: {
        non_subscription_purchase: null,
        uncancellation: '',
        subscription_paused: null,
        expiration: null,
        billing_issue: '',
        product_change: null,
      },
    });
    for (const name of [
      'non_renewing_purchase',
      'uncancellation',
      'subscription_paused',
      'expiration',
      'billing_issue',
      'product_change',
    ] as const) {
      expect({ name, rule: plugin.filter(fixtureEvent(name), off)?.rule }).toEqual({ name, rule: 'event_disabled' });
    }
  });

  it('sends EU projects to the EU host, and an endpoint override anywhere', () => {
    const eu = AmplitudeSettings.parse({ ...settings, region: 'eu' });
    const proxied = AmplitudeSettings.parse({ ...settings, region: 'eu', endpoint: 'http://127.0.0.1:9998/amp/' });
    expect(firstEvent(fixtureEvent('renewal'), eu).url).toBe('https://api.eu.amplitude.com/2/httpapi');
    expect(firstEvent(fixtureEvent('renewal'), proxied).url).toBe('http://127.0.0.1:9998/amp/2/httpapi');
  });

  it('reports the refund after commission, still negative: -9.99 × (1 − 0.3) = -6.993 → USD -6.99', () => {
    const net = AmplitudeSettings.parse({ ...settings, salesReporting: 'after_store_commission' });
    const { event } = firstEvent(fixtureEvent('refund'), net);
    expect([event.revenue, event.event_properties.revenue, event.event_properties.currency]).toEqual([-6.99, -6.99, 'USD']);
  });

  it('reports the trial conversion after commission and taxes, in USD: 54.37 × (1 − 0.15 − 0.1597) = 37.531611 → 37.53', () => {
    const net = AmplitudeSettings.parse({ ...settings, salesReporting: 'after_store_commission_and_taxes' });
    const { event } = firstEvent(fixtureEvent('trial_converted'), net);
    expect([event.revenue, event.event_properties.revenue, event.event_properties.currency]).toEqual([37.53, 37.53, 'EUR']);
  });

  it('reports the JPY purchase in USD, not yen: 8.04 × (1 − 0.15 − 0.0909) = 6.103164 → 6.10', () => {
    const net = AmplitudeSettings.parse({ ...settings, salesReporting: 'after_store_commission_and_taxes' });
    expect(firstEvent(fixtureEvent('jpy_purchase'), net).event.revenue).toBe(6.1);
  });

  describe('Amplitude ids from subscriber attributes (RevenueCat: both → both, one → only that one, none → app user id)', () => {
    const renewalWith = (attributes: Record<string, string>): SubscriptionEvent => {
      const e = fixtureEvent('renewal');
      return { ...e, attributes: { ...e.attributes, ...attributes } };
    };
    it.each([
      [
        'both',
        { $amplitudeUserId: 'amp-user-0001', $amplitudeDeviceId: 'amp-device-0001' },
        { user_id: 'amp-user-0001', device_id: 'amp-device-0001' },
      ],
      ['only the device id', { $amplitudeDeviceId: 'amp-device-0001' }, { device_id: 'amp-device-0001' }],
      ['only the user id', { $amplitudeUserId: 'amp-user-0001' }, { user_id: 'amp-user-0001' }],
      [
        'keys in another letter case',
        { $AmplitudeUserID: 'amp-user-0002', $amplitudedeviceid: 'amp-device-0002' },
        { user_id: 'amp-user-0002', device_id: 'amp-device-0002' },
      ],
      ['empty values, which count as unset', { $amplitudeUserId: '', $amplitudeDeviceId: '' }, { user_id: USER }],
    ])('%s', (_, attributes, expected) => {
      const e = renewalWith(attributes);
      expect(plugin.identity(e, settings)).toEqual(expected);
      const { event } = firstEvent(e, settings);
      expect({ user_id: event.user_id, device_id: event.device_id }).toEqual({ user_id: undefined, device_id: undefined, ...expected });
      expect(event.event_properties.subscriber_attributes).toMatchObject(attributes);
    });

    it('skips an event without app user id or Amplitude id: Amplitude would refuse it', () => {
      const e = { ...fixtureEvent('renewal'), appUserId: null };
      expect(plugin.filter(e, settings)?.rule).toBe('no_user');
      expect(plugin.filter({ ...e, attributes: { $amplitudeDeviceId: 'amp-device-0001' } }, settings)).toBeUndefined();
    });
  });
});
