/**
 * Golden tests: for every fixture of the shared catalogue, the exact CleverTap request (or the skip rule),
 * written by hand from SPEC §3–§4 and the fixture data (reference/revenuecat-webhooks.md §8, §8.1).
 * Settings: eu1, gross revenue, a production and a sandbox account.
 */
import { describeGoldenCatalogue, fixtureEvent, type FixtureName, type GoldenExpectation, type GoldenSend } from '@ferry/testkit';
import { clevertapPlugin as plugin } from './plugin';
import { CleverTapSettings } from './settings';

const settings = CleverTapSettings.parse({
  accountId: 'GOLDEN-ACCOUNT',
  passcode: 'golden-passcode',
  sandboxAccountId: 'GOLDEN-SANDBOX',
  sandboxPasscode: 'golden-sandbox-passcode',
});
const URL = 'https://api.clevertap.com/1/upload';
const ACCOUNTS = {
  production: { accountId: 'GOLDEN-ACCOUNT', passcode: 'golden-passcode' },
  sandbox: { accountId: 'GOLDEN-SANDBOX', passcode: 'golden-sandbox-passcode' },
};

const CLEVERTAP_ID = 'a1b2c3d4e5f6478890abcdef12345678';
/** `ATTRS` of the reference, flattened to `key: value`. */
const ATTRS = {
  $email: 'ana@example.com',
  $displayName: 'Ana Lima',
  $clevertapId: CLEVERTAP_ID,
  $idfv: '6F9619FF-8B86-4011-B42D-00C04FC964FF',
  $ip: '203.0.113.7',
  onboarding_goal: 'fitness',
};
const { $clevertapId: _, ...ATTRS_WITHOUT_CLEVERTAP_ID } = ATTRS;
const APP_ID = 'app1a2b3c4d5';
const MONTHLY = 'com.example.pro.monthly';
const PLAY_ANNUAL = 'premium:annual-autorenew';

interface Send {
  readonly account: keyof typeof ACCOUNTS;
  readonly record: Record<string, unknown>;
  readonly warnings?: string[];
}
type Golden = GoldenExpectation<Send>;

const event = (
  evtName: string,
  ts: number,
  evtData: Record<string, unknown>,
  user: Record<string, string> = { objectId: CLEVERTAP_ID },
) => ({
  type: 'event',
  evtName,
  evtData,
  ts,
  ...user,
});
const production = (record: Record<string, unknown>, warnings?: string[]): Golden => ({
  send: { account: 'production', record, warnings },
});

const KEY_121 = 'key_of_121_chars_'.padEnd(121, 'k');
const KEY_120 = 'key_of_120_chars_'.padEnd(120, 'k');

const golden: Record<FixtureName, Golden> = {
  initial_purchase: production(
    event('rc_initial_purchase_event', 1740823202, { amount: 9.99, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS }),
  ),
  trial_started: production(
    event('rc_trial_started_event', 1740823203, { amount: 0, currency: 'EUR', product_id: PLAY_ANNUAL, app_id: APP_ID, ...ATTRS }),
  ),
  trial_converted: production(
    event('rc_trial_converted_event', 1741428192, { amount: 49.99, currency: 'EUR', product_id: PLAY_ANNUAL, app_id: APP_ID, ...ATTRS }),
  ),
  trial_cancelled: production(
    event('rc_trial_cancelled_event', 1741285900, {
      amount: 0,
      currency: 'EUR',
      product_id: PLAY_ANNUAL,
      app_id: APP_ID,
      cancel_reason: 'UNSUBSCRIBE',
      ...ATTRS,
    }),
  ),
  renewal: production(
    event('rc_renewal_event', 1743501605, { amount: 9.99, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS }),
  ),
  cancellation: production(
    event('rc_cancellation_event', 1744319649, {
      amount: 0,
      currency: 'USD',
      product_id: MONTHLY,
      app_id: APP_ID,
      cancel_reason: 'UNSUBSCRIBE',
      ...ATTRS,
    }),
  ),
  refund: production(
    event('rc_cancellation_event', 1744989631, {
      amount: 0,
      currency: 'USD',
      product_id: MONTHLY,
      app_id: APP_ID,
      cancel_reason: 'CUSTOMER_SUPPORT',
      ...ATTRS,
    }),
  ),
  uncancellation: production(
    event('rc_uncancellation_event', 1744444964, { amount: 0, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS }),
  ),
  non_renewing_purchase: production(
    event('rc_non_subscription_purchase_event', 1749124801, {
      amount: 399,
      currency: 'INR',
      product_id: 'com.example.coins.500',
      app_id: APP_ID,
      ...ATTRS,
    }),
  ),
  expiration: production(
    event('rc_expiration_event', 1746096077, {
      amount: 0,
      currency: 'USD',
      product_id: MONTHLY,
      app_id: APP_ID,
      expiration_reason: 'UNSUBSCRIBE',
      ...ATTRS,
    }),
  ),
  billing_issue: production(
    event('rc_billing_issue_event', 1748772004, {
      amount: 0,
      currency: 'USD',
      product_id: MONTHLY,
      app_id: APP_ID,
      grace_period_expiration_at: 1750154400000,
      ...ATTRS,
    }),
  ),
  product_change: production(
    event('rc_product_change_event', 1747040402, {
      amount: 0,
      currency: 'USD',
      product_id: MONTHLY,
      app_id: APP_ID,
      new_product_id: 'com.example.pro.yearly',
      ...ATTRS,
    }),
  ),
  transfer: { skip: 'transfer_not_supported' },
  test: { skip: 'unsupported_type' },
  sandbox_initial_purchase: {
    send: {
      account: 'sandbox',
      record: event('rc_initial_purchase_event', 1751533201, {
        amount: 9.99,
        currency: 'USD',
        product_id: MONTHLY,
        app_id: APP_ID,
        ...ATTRS,
      }),
    },
  },
  subscription_paused: { skip: 'unsupported_kind' },
  subscription_extended: { skip: 'unsupported_type' },
  temporary_entitlement_grant: { skip: 'unsupported_type' },
  refund_reversed: { skip: 'unsupported_type' },
  invoice_issuance: { skip: 'unsupported_type' },
  virtual_currency_transaction: { skip: 'unsupported_type' },
  experiment_enrollment: { skip: 'unsupported_type' },
  unknown_type: { skip: 'unsupported_type' },
  promotional_cancellation: production(
    event('rc_cancellation_event', 1744319649, {
      amount: 0,
      currency: 'USD',
      product_id: 'rc_promo_pro_monthly',
      cancel_reason: 'DEVELOPER_INITIATED',
      ...ATTRS,
    }),
  ),
  null_prices: production(
    event('rc_initial_purchase_event', 1740823202, { amount: 0, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS }),
  ),
  usd_fallback: production(
    event('rc_renewal_event', 1743501605, { amount: 4.99, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS }),
  ),
  jpy_purchase: production(
    event('rc_initial_purchase_event', 1740823202, { amount: 1200, currency: 'JPY', product_id: MONTHLY, app_id: APP_ID, ...ATTRS }),
  ),
  intro_offer: production(
    event('rc_initial_purchase_event', 1740823202, { amount: 1.99, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS }),
  ),
  long_attributes: production(
    event('rc_renewal_event', 1743501605, {
      amount: 9.99,
      currency: 'USD',
      product_id: MONTHLY,
      app_id: APP_ID,
      ...ATTRS,
      [KEY_120]: 'allowed',
      value_of_400_bytes: 'é'.repeat(200),
    }),
    [
      `delivery golden-long_attributes: evtData property left out, key "${KEY_121.slice(0, 40)}…" is 121 characters (limit 120)`,
      'delivery golden-long_attributes: evtData property left out, value of "value_of_513_bytes" is 513 bytes (limit 512)',
      'delivery golden-long_attributes: evtData property left out, value of "value_of_600_bytes" is 600 bytes (limit 512)',
    ],
  ),
  clevertap_id_camel_case: production(
    event(
      'rc_renewal_event',
      1743501605,
      { amount: 9.99, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS_WITHOUT_CLEVERTAP_ID, $cleverTapId: 'ct-camel-0001' },
      { objectId: 'ct-camel-0001' },
    ),
  ),
  without_clevertap_id: production(
    event(
      'rc_renewal_event',
      1743501605,
      { amount: 9.99, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS_WITHOUT_CLEVERTAP_ID },
      {
        identity: 'user_8f14e45f',
      },
    ),
  ),
  empty_clevertap_id: production(
    event(
      'rc_renewal_event',
      1743501605,
      { amount: 9.99, currency: 'USD', product_id: MONTHLY, app_id: APP_ID, ...ATTRS, $clevertapId: '' },
      {
        identity: 'user_8f14e45f',
      },
    ),
  ),
};

/** One request per account, production first, each carrying its sends in batch order. */
function expectedRequests(sends: readonly GoldenSend<Send>[]) {
  return (['production', 'sandbox'] as const).flatMap((account) => {
    const carried = sends.filter(({ send }) => send.account === account);
    if (carried.length === 0) return [];
    const { accountId, passcode } = ACCOUNTS[account];
    const warnings = carried.flatMap(({ send }) => send.warnings ?? []);
    return [
      {
        method: 'POST',
        url: URL,
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'X-CleverTap-Account-Id': accountId,
          'X-CleverTap-Passcode': passcode,
        },
        body: { d: carried.map(({ send }) => send.record) },
        deliveryIds: carried.map(({ deliveryId }) => deliveryId),
        concurrencyKey: `clevertap:${accountId}`,
        ...(warnings.length > 0 ? { warnings } : {}),
      },
    ];
  });
}

describeGoldenCatalogue(plugin, { settings, expected: golden, where: (send) => `the ${send.account} account`, requests: expectedRequests });

describe('golden rules under other settings', () => {
  it('skips the sandbox purchase when no sandbox account is configured', () => {
    const noSandbox = CleverTapSettings.parse({ accountId: 'GOLDEN-ACCOUNT', passcode: 'golden-passcode' });
    expect(plugin.filter(fixtureEvent('sandbox_initial_purchase'), noSandbox)?.rule).toBe('sandbox_without_credentials');
    expect(plugin.filter(fixtureEvent('initial_purchase'), noSandbox)).toBeUndefined();
  });

  it('skips expiration, billing issue and product change when their names are switched off', () => {
    const off = CleverTapSettings.parse({ ...settings, eventNames: { expiration: null, billing_issue: '', product_change: null } });
    for (const name of ['expiration', 'billing_issue', 'product_change'] as const) {
      expect(plugin.filter(fixtureEvent(name), off)?.rule).toBe('event_disabled');
    }
  });

  it('reports the trial conversion after commission and taxes: 49.99 × (1 − 0.15 − 0.1597) = 34.508097 → EUR 34.51', () => {
    const net = CleverTapSettings.parse({ ...settings, salesReporting: 'after_store_commission_and_taxes' });
    const [request] = plugin.buildRequests([{ deliveryId: 'x', event: fixtureEvent('trial_converted') }], net);
    expect(JSON.parse(request.body).d[0].evtData).toMatchObject({ amount: 34.51, currency: 'EUR' });
  });

  it('reports the JPY purchase after commission and taxes to whole yen: 1200 × (1 − 0.15 − 0.0909) = 910.92 → 911', () => {
    const net = CleverTapSettings.parse({ ...settings, salesReporting: 'after_store_commission_and_taxes' });
    const [request] = plugin.buildRequests([{ deliveryId: 'x', event: fixtureEvent('jpy_purchase') }], net);
    expect(JSON.parse(request.body).d[0].evtData).toMatchObject({ amount: 911, currency: 'JPY' });
  });
});
