/**
 * Golden tests: for every fixture of the shared catalogue, the exact Braze request (or the skip rule), written by
 * hand from SPEC §14, reference/braze.md §1–§2 and the fixture data (reference/revenuecat-webhooks.md §8).
 * Settings: instance US-01, gross revenue, purchase objects on, a production and a sandbox REST key.
 */
import type { Planned } from '@ferry/core';
import { describeGoldenCatalogue, fixtureEvent, type FixtureName, type GoldenExpectation, type GoldenSend } from '@ferry/testkit';
import { brazePlugin as plugin } from './plugin';
import { BrazeSettings } from './settings';

const KEYS = { production: 'GOLDEN-API-KEY', sandbox: 'GOLDEN-SANDBOX-KEY' };
const settings = BrazeSettings.parse({ instance: 'US-01', apiKey: KEYS.production, sandboxApiKey: KEYS.sandbox });
const URL = 'https://rest.iad-01.braze.com/users/track';

const USER = 'user_8f14e45f';
const APP_ID = 'app1a2b3c4d5';
const MONTHLY = 'com.example.pro.monthly';
const PLAY_ANNUAL = 'premium:annual-autorenew';
const WHO = { external_id: USER };
/** The one customer attribute of `ATTRS` without a `$`: the reserved ones ($email, $clevertapId, …) are left out. */
const GOAL = { rc_customer_attribute_onboarding_goal: 'fitness' };

interface Send {
  readonly workspace: keyof typeof KEYS;
  readonly attributes?: Record<string, unknown>;
  readonly event?: Record<string, unknown>;
  readonly purchase?: Record<string, unknown>;
  readonly warnings?: string[];
}
type Golden = GoldenExpectation<Send>;

/** The attributes object: the customer attribute, and the state with the active entitlements. */
const state = (status: string, entitlements: string[] = ['pro']) => ({
  ...WHO,
  ...GOAL,
  rc_subscription_status: status,
  rc_active_entitlement_ids: entitlements,
});
const props = (more: Record<string, unknown>) => ({
  store: 'APP_STORE',
  currency: 'USD',
  app_id: APP_ID,
  environment: 'PRODUCTION',
  ...more,
});
const event = (name: string, time: string, properties: Record<string, unknown>) => ({ ...WHO, name, time, properties });
const purchase = (name: string, productId: string, price: number, time: string, more: Record<string, unknown> = {}) => ({
  ...WHO,
  product_id: productId,
  currency: 'USD',
  price,
  quantity: 1,
  time,
  properties: { rc_event_name: name, ...props({ product_id: productId, revenue: price, ...more }) },
});
const production = (send: Omit<Send, 'workspace'>): Golden => ({ send: { workspace: 'production', ...send } });

// S5 (App Store renewal, USD 9.99) and the fixtures that are S5 with other attributes.
const RENEWAL = production({
  attributes: state('active'),
  purchase: purchase('rc_renewal_event', MONTHLY, 9.99, '2025-04-01T10:00:05.000Z'),
});

const golden: Record<FixtureName, Golden> = {
  initial_purchase: production({
    attributes: state('active'),
    purchase: purchase('rc_initial_purchase_event', MONTHLY, 9.99, '2025-03-01T10:00:02.000Z'),
  }),
  trial_started: production({
    attributes: state('trial'),
    event: event('rc_trial_started_event', '2025-03-01T10:00:03.000Z', props({ product_id: PLAY_ANNUAL, store: 'PLAY_STORE', revenue: 0 })),
  }),
  // USD 54.37 (the webhook's `price`), whatever the purchase currency.
  trial_converted: production({
    attributes: state('active'),
    purchase: purchase('rc_trial_converted_event', PLAY_ANNUAL, 54.37, '2025-03-08T10:03:12.000Z', { store: 'PLAY_STORE' }),
  }),
  trial_cancelled: production({
    attributes: state('cancelled_trial'),
    event: event(
      'rc_trial_cancelled_event',
      '2025-03-06T18:31:40.000Z',
      props({ product_id: PLAY_ANNUAL, store: 'PLAY_STORE', revenue: 0, cancel_reason: 'UNSUBSCRIBE' }),
    ),
  }),
  renewal: RENEWAL,
  cancellation: production({
    attributes: state('cancelled'),
    event: event(
      'rc_cancellation_event',
      '2025-04-10T21:14:09.000Z',
      props({ product_id: MONTHLY, revenue: 0, cancel_reason: 'UNSUBSCRIBE' }),
    ),
  }),
  // A refund is never a purchase: an event with negative revenue.
  refund: production({
    attributes: state('cancelled'),
    event: event(
      'rc_cancellation_event',
      '2025-04-18T15:20:31.000Z',
      props({ product_id: MONTHLY, revenue: -9.99, cancel_reason: 'CUSTOMER_SUPPORT' }),
    ),
  }),
  uncancellation: production({
    attributes: state('active'),
    event: event('rc_uncancellation_event', '2025-04-12T08:02:44.000Z', props({ product_id: MONTHLY, revenue: 0 })),
  }),
  // No subscription state: the attributes object carries the customer attribute alone.
  non_renewing_purchase: production({
    attributes: { ...WHO, ...GOAL },
    purchase: purchase('rc_non_subscription_purchase_event', 'com.example.coins.500', 4.79, '2025-06-05T12:00:01.000Z'),
  }),
  expiration: production({
    attributes: state('expired', []),
    event: event(
      'rc_expiration_event',
      '2025-05-01T10:41:17.000Z',
      props({ product_id: MONTHLY, revenue: 0, expiration_reason: 'UNSUBSCRIBE' }),
    ),
  }),
  billing_issue: production({
    attributes: state('grace_period'),
    event: event(
      'rc_billing_issue_event',
      '2025-06-01T10:00:04.000Z',
      props({ product_id: MONTHLY, revenue: 0, grace_period_expiration_at: '2025-06-17T10:00:00.000Z' }),
    ),
  }),
  product_change: production({
    attributes: { ...WHO, ...GOAL },
    event: event(
      'rc_product_change_event',
      '2025-05-12T09:00:02.000Z',
      props({ product_id: MONTHLY, revenue: 0, new_product_id: 'com.example.pro.yearly' }),
    ),
  }),
  transfer: { skip: 'transfer_not_supported' },
  test: { skip: 'unsupported_type' },
  sandbox_initial_purchase: {
    send: {
      workspace: 'sandbox',
      attributes: state('active'),
      purchase: {
        ...purchase('rc_initial_purchase_event', MONTHLY, 9.99, '2025-07-03T09:00:01.000Z'),
        properties: {
          rc_event_name: 'rc_initial_purchase_event',
          ...props({ product_id: MONTHLY, revenue: 9.99, environment: 'SANDBOX' }),
        },
      },
    },
  },
  subscription_paused: production({
    attributes: state('paused'),
    event: event(
      'rc_subscription_paused_event',
      '2025-04-18T18:13:20.000Z',
      props({ product_id: 'premium:monthly-autorenew', store: 'PLAY_STORE', revenue: 0, auto_resume_at: '2025-06-01T10:00:00.000Z' }),
    ),
  }),
  subscription_extended: { skip: 'unsupported_type' },
  temporary_entitlement_grant: { skip: 'unsupported_type' },
  refund_reversed: { skip: 'unsupported_type' },
  invoice_issuance: { skip: 'unsupported_type' },
  virtual_currency_transaction: { skip: 'unsupported_type' },
  experiment_enrollment: { skip: 'unsupported_type' },
  unknown_type: { skip: 'unsupported_type' },
  // No app_id in the webhook: none in the properties.
  promotional_cancellation: production({
    attributes: state('cancelled'),
    event: event('rc_cancellation_event', '2025-04-10T21:14:09.000Z', {
      product_id: 'rc_promo_pro_monthly',
      store: 'PROMOTIONAL',
      revenue: 0,
      currency: 'USD',
      environment: 'PRODUCTION',
      cancel_reason: 'DEVELOPER_INITIATED',
    }),
  }),
  // No revenue, so not a purchase.
  null_prices: production({
    attributes: state('active'),
    event: event('rc_initial_purchase_event', '2025-03-01T10:00:02.000Z', props({ product_id: MONTHLY, revenue: 0 })),
  }),
  usd_fallback: production({
    attributes: state('active'),
    purchase: purchase('rc_renewal_event', MONTHLY, 4.99, '2025-04-01T10:00:05.000Z'),
  }),
  jpy_purchase: production({
    attributes: state('active'),
    purchase: purchase('rc_initial_purchase_event', MONTHLY, 8.04, '2025-03-01T10:00:02.000Z'),
  }),
  intro_offer: production({
    attributes: state('intro'),
    purchase: purchase('rc_initial_purchase_event', MONTHLY, 1.99, '2025-03-01T10:00:02.000Z'),
  }),
  // Values over 255 characters are left out and said so; a 200-character value of 400 bytes fits.
  long_attributes: production({
    attributes: {
      ...state('active'),
      [`rc_customer_attribute_${'key_of_121_chars_'.padEnd(121, 'k')}`]: 'x',
      [`rc_customer_attribute_${'key_of_120_chars_'.padEnd(120, 'k')}`]: 'allowed',
      rc_customer_attribute_value_of_400_bytes: 'é'.repeat(200),
    },
    purchase: purchase('rc_renewal_event', MONTHLY, 9.99, '2025-04-01T10:00:05.000Z'),
    warnings: [
      'delivery golden-long_attributes: customer attribute rc_customer_attribute_value_of_513_bytes left out: its value is over 255 characters',
      'delivery golden-long_attributes: customer attribute rc_customer_attribute_value_of_600_bytes left out: its value is over 255 characters',
    ],
  }),
  clevertap_id_camel_case: RENEWAL,
  without_clevertap_id: RENEWAL,
  empty_clevertap_id: RENEWAL,
};

/** The requests a batch of sends builds: per workspace in order of first appearance, 75 objects at most each. */
function requests(sends: readonly GoldenSend<Send>[]): unknown[] {
  const workspaces = [...new Set(sends.map((s) => s.send.workspace))];
  return workspaces.flatMap((workspace) => {
    const runs: GoldenSend<Send>[][] = [[]];
    let objects = 0;
    for (const s of sends.filter((candidate) => candidate.send.workspace === workspace)) {
      const count = [s.send.attributes, s.send.event, s.send.purchase].filter(Boolean).length;
      if (objects + count > 75) {
        runs.push([]);
        objects = 0;
      }
      runs[runs.length - 1].push(s);
      objects += count;
    }
    return runs.map((run) => {
      const of = (key: 'attributes' | 'event' | 'purchase') => run.filter((s) => s.send[key]).map((s) => ({ s, object: s.send[key] }));
      const [attributes, events, purchases] = [of('attributes'), of('event'), of('purchase')];
      const warnings = run.flatMap((s) => s.send.warnings ?? []);
      return {
        method: 'POST',
        url: URL,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEYS[workspace]}` },
        body: {
          ...(attributes.length > 0 && { attributes: attributes.map((a) => a.object) }),
          ...(events.length > 0 && { events: events.map((e) => e.object) }),
          ...(purchases.length > 0 && { purchases: purchases.map((p) => p.object) }),
        },
        deliveryIds: run.map((s) => s.deliveryId),
        records: [
          ...attributes.map(({ s }) => ({
            deliveryId: s.deliveryId,
            part: 'attributes',
            decides: false,
            ...('rc_subscription_status' in s.send.attributes! && { carriesState: true }),
          })),
          ...events.map(({ s }) => ({ deliveryId: s.deliveryId, part: 'events', decides: true })),
          ...purchases.map(({ s }) => ({ deliveryId: s.deliveryId, part: 'purchases', decides: true })),
        ],
        concurrencyKey: `braze:${workspace}`,
        ...(warnings.length > 0 && { warnings }),
      };
    });
  });
}

describeGoldenCatalogue(plugin, { settings, expected: golden, where: (send) => `the ${send.workspace} workspace`, requests });

describe('other settings and identities', () => {
  const planned = (name: FixtureName, attributes?: Record<string, string>, more: Partial<Planned> = {}): Planned => {
    const event = fixtureEvent(name);
    return { deliveryId: 'd', event: attributes ? { ...event, attributes } : event, ...more };
  };
  const body = (p: Planned, s = settings) => JSON.parse(plugin.buildRequests([p], s)[0].body) as Record<string, Record<string, unknown>[]>;

  it('both alias attributes (any letter case): user_alias on every object, and the attributes object creates the profile', () => {
    const alias = { $BrazeAliasName: 'ana-42', $brazealiaslabel: 'crm_id', onboarding_goal: 'fitness' };
    const sent = body(planned('initial_purchase', alias));
    const user_alias = { alias_name: 'ana-42', alias_label: 'crm_id' };
    expect(sent.attributes).toEqual([
      { user_alias, _update_existing_only: false, ...GOAL, rc_subscription_status: 'active', rc_active_entitlement_ids: ['pro'] },
    ]);
    expect(sent.purchases[0]).toMatchObject({ user_alias });
    expect(sent.purchases[0]).not.toHaveProperty('external_id');
    expect(plugin.identity(planned('initial_purchase', alias).event, settings)).toEqual({ alias_name: 'ana-42', alias_label: 'crm_id' });
  });

  it('an alias profile is created even with nothing else to write; one alias attribute alone (or an empty one) is not an alias', () => {
    const bare = body(planned('product_change', { $brazeAliasName: 'ana-42', $brazeAliasLabel: 'crm_id' }));
    expect(bare.attributes).toEqual([{ user_alias: { alias_name: 'ana-42', alias_label: 'crm_id' }, _update_existing_only: false }]);
    const halves: Record<string, string>[] = [{ $brazeAliasName: 'ana-42' }, { $brazeAliasName: 'ana-42', $brazeAliasLabel: '' }];
    for (const half of halves) {
      const sent = body(planned('product_change', half));
      expect(sent.attributes).toBeUndefined(); // an external id with nothing to write sends no attributes object
      expect(sent.events[0]).toMatchObject({ external_id: USER });
    }
  });

  it('purchases: false sends revenue as a custom event with its revenue', () => {
    const sent = body(planned('initial_purchase'), BrazeSettings.parse({ ...settings, purchases: false }));
    expect(sent.purchases).toBeUndefined();
    expect(sent.events).toEqual([
      event('rc_initial_purchase_event', '2025-03-01T10:00:02.000Z', props({ product_id: MONTHLY, revenue: 9.99 })),
    ]);
  });

  it('sales reporting: after store commission and taxes, in USD', () => {
    const after = BrazeSettings.parse({ ...settings, salesReporting: 'after_store_commission_and_taxes' });
    // JPY fixture: USD 8.04 × (1 − 0.15 − 0.0909) = 6.10
    expect(body(planned('jpy_purchase'), after).purchases[0]).toMatchObject({ price: 6.1, currency: 'USD' });
  });

  it('without the state (the ordering guard withheld it) the attributes object carries the customer attributes alone', () => {
    const [request] = plugin.buildRequests([planned('renewal', undefined, { carriesState: false })], settings);
    expect(JSON.parse(request.body).attributes).toEqual([{ ...WHO, ...GOAL }]);
    expect(request.records).toEqual([
      { deliveryId: 'd', part: 'attributes', decides: false },
      { deliveryId: 'd', part: 'purchases', decides: true },
    ]);
  });

  it('restEndpoint replaces the instance, with or without a trailing slash', () => {
    for (const restEndpoint of ['http://127.0.0.1:9998', 'http://127.0.0.1:9998/']) {
      const s = BrazeSettings.parse({ restEndpoint, apiKey: KEYS.production });
      expect(plugin.buildRequests([planned('renewal')], s)[0].url).toBe('http://127.0.0.1:9998/users/track');
    }
    expect(plugin.buildRequests([planned('renewal')], BrazeSettings.parse({ instance: 'US-10', apiKey: 'k' }))[0].url).toBe(
      'https://rest.us-10.braze.com/users/track',
    );
  });
});
