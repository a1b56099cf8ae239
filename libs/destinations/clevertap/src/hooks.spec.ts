import type { SubscriptionEvent } from '@ferry/core';
import { fixtureEvent, type FixtureName } from '@ferry/testkit';
import { clevertapPlugin as plugin } from './plugin';
import { CleverTapSettings } from './settings';

const event = (name: FixtureName, overrides: Partial<SubscriptionEvent> = {}): SubscriptionEvent => ({
  ...fixtureEvent(name),
  ...overrides,
});
const settings = (input: object = {}) => CleverTapSettings.parse({ accountId: 'ACC', passcode: 'PASS', ...input });
const withSandbox = settings({ sandboxAccountId: 'SBX', sandboxPasscode: 'SBX-PASS' });

describe('filter', () => {
  it('sends every kind CleverTap takes', () => {
    const sent: FixtureName[] = [
      'initial_purchase',
      'trial_started',
      'trial_converted',
      'trial_cancelled',
      'renewal',
      'cancellation',
      'refund',
      'uncancellation',
      'non_renewing_purchase',
      'expiration',
      'billing_issue',
      'product_change',
      'promotional_cancellation',
    ];
    for (const name of sent) expect([name, plugin.filter(event(name), settings())]).toEqual([name, undefined]);
  });

  it('skips transfers, TEST, unknown types and kinds CleverTap does not take, saying why', () => {
    const rule = (name: FixtureName) => plugin.filter(event(name), withSandbox)?.rule;
    expect(rule('transfer')).toBe('transfer_not_supported');
    expect(rule('test')).toBe('unsupported_type');
    expect(rule('unknown_type')).toBe('unsupported_type');
    expect(rule('subscription_extended')).toBe('unsupported_type');
    expect(rule('subscription_paused')).toBe('unsupported_kind');
    expect(plugin.filter(event('transfer'), withSandbox)?.reason).toBe('this destination takes no transfer events');
  });

  it('skips an optional kind switched off by a null or empty name, and only those', () => {
    const off = settings({ eventNames: { expiration: null, billing_issue: '', product_change: null } });
    expect(plugin.filter(event('expiration'), off)?.rule).toBe('event_disabled');
    expect(plugin.filter(event('billing_issue'), off)?.rule).toBe('event_disabled');
    expect(plugin.filter(event('product_change'), off)?.rule).toBe('event_disabled');
    expect(plugin.filter(event('renewal'), off)).toBeUndefined();
  });

  it('sends sandbox events only when sandbox credentials are set', () => {
    expect(plugin.filter(event('sandbox_initial_purchase'), settings())?.rule).toBe('sandbox_without_credentials');
    expect(plugin.filter(event('sandbox_initial_purchase'), settings({ sandboxAccountId: ' ', sandboxPasscode: '' }))?.rule).toBe(
      'sandbox_without_credentials',
    );
    expect(plugin.filter(event('sandbox_initial_purchase'), withSandbox)).toBeUndefined();
  });

  it('skips an event with no user to attach it to', () => {
    const anonymous = event('without_clevertap_id', { appUserId: null });
    expect(plugin.filter(anonymous, settings())?.rule).toBe('no_user');
    expect(plugin.filter({ ...anonymous, appUserId: '' }, settings())?.rule).toBe('no_user');
    expect(plugin.filter(event('renewal', { appUserId: null }), settings())).toBeUndefined(); // the CleverTap id suffices
  });
});

describe('eventName', () => {
  it('uses RevenueCat’s default names', () => {
    const names = Object.fromEntries(
      (
        [
          'initial_purchase',
          'trial_started',
          'trial_converted',
          'trial_cancelled',
          'renewal',
          'cancellation',
          'refund',
          'uncancellation',
          'non_renewing_purchase',
          'expiration',
          'billing_issue',
          'product_change',
        ] as const
      ).map((name) => [name, plugin.eventName(event(name), settings())]),
    );
    expect(names).toEqual({
      initial_purchase: 'rc_initial_purchase_event',
      trial_started: 'rc_trial_started_event',
      trial_converted: 'rc_trial_converted_event',
      trial_cancelled: 'rc_trial_cancelled_event',
      renewal: 'rc_renewal_event',
      cancellation: 'rc_cancellation_event',
      refund: 'rc_cancellation_event',
      uncancellation: 'rc_uncancellation_event',
      non_renewing_purchase: 'rc_non_subscription_purchase_event',
      expiration: 'rc_expiration_event',
      billing_issue: 'rc_billing_issue_event',
      product_change: 'rc_product_change_event',
    });
  });

  it('uses the operator’s name where one is set', () => {
    const renamed = settings({ eventNames: { renewal: 'Subscription Renewed', expiration: 'Expired' } });
    expect(plugin.eventName(event('renewal'), renamed)).toBe('Subscription Renewed');
    expect(plugin.eventName(event('expiration'), renamed)).toBe('Expired');
    expect(plugin.eventName(event('initial_purchase'), renamed)).toBe('rc_initial_purchase_event');
  });

  it('refuses to name what the filter skips rather than invent a name', () => {
    expect(() => plugin.eventName(event('expiration'), settings({ eventNames: { expiration: null } }))).toThrow(
      'no event name for expiration',
    );
    expect(() => plugin.eventName(event('test'), settings())).toThrow('no event name for TEST');
  });
});

describe('revenue', () => {
  const revenue = (name: FixtureName, salesReporting: string, overrides: Partial<SubscriptionEvent> = {}) =>
    plugin.revenue(event(name, overrides), settings({ salesReporting }));

  it('reports gross, after commission, and after commission and taxes in the purchase currency, rounded to its minor unit', () => {
    // trial_converted: EUR 49.99, commission 0.15, tax 0.1597
    expect(revenue('trial_converted', 'gross')).toEqual({ amount: 49.99, currency: 'EUR' });
    expect(revenue('trial_converted', 'after_store_commission')).toEqual({ amount: 42.49, currency: 'EUR' }); // 42.4915
    expect(revenue('trial_converted', 'after_store_commission_and_taxes')).toEqual({ amount: 34.51, currency: 'EUR' }); // 34.508097
    // jpy_purchase: JPY 1200, commission 0.15, tax 0.0909; the yen has no minor unit
    expect(revenue('jpy_purchase', 'gross')).toEqual({ amount: 1200, currency: 'JPY' });
    expect(revenue('jpy_purchase', 'after_store_commission')).toEqual({ amount: 1020, currency: 'JPY' });
    expect(revenue('jpy_purchase', 'after_store_commission_and_taxes')).toEqual({ amount: 911, currency: 'JPY' }); // 910.92
    // non_renewing_purchase: INR 399, commission 0.3, tax 0.1525
    expect(revenue('non_renewing_purchase', 'after_store_commission_and_taxes')).toEqual({ amount: 218.45, currency: 'INR' }); // 218.4525
  });

  it('falls back to the USD price, then to 0, and counts missing percentages as 0', () => {
    expect(revenue('usd_fallback', 'gross')).toEqual({ amount: 4.99, currency: 'USD' });
    expect(revenue('usd_fallback', 'after_store_commission')).toEqual({ amount: 4.24, currency: 'USD' }); // 4.2415
    expect(revenue('null_prices', 'after_store_commission_and_taxes')).toEqual({ amount: 0, currency: 'USD' });
    expect(revenue('renewal', 'after_store_commission_and_taxes', { taxPercentage: null, commissionPercentage: null })).toEqual({
      amount: 9.99,
      currency: 'USD',
    });
  });

  it('sends a refund as 0, never negative, in every mode', () => {
    for (const mode of ['gross', 'after_store_commission', 'after_store_commission_and_taxes']) {
      expect(revenue('refund', mode)).toEqual({ amount: 0, currency: 'USD' });
      expect(Object.is(revenue('refund', mode).amount, -0)).toBe(false);
    }
  });
});

describe('identity', () => {
  it('uses the CleverTap id as objectId, whatever the letter case of its key', () => {
    expect(plugin.identity(event('renewal'), settings())).toEqual({ objectId: 'a1b2c3d4e5f6478890abcdef12345678' });
    expect(plugin.identity(event('clevertap_id_camel_case'), settings())).toEqual({ objectId: 'ct-camel-0001' });
    expect(plugin.identity(event('renewal', { attributes: { $CLEVERTAPID: 'UPPER' } }), settings())).toEqual({ objectId: 'UPPER' });
  });

  it('falls back to the app user id as identity when the CleverTap id is absent or empty', () => {
    expect(plugin.identity(event('without_clevertap_id'), settings())).toEqual({ identity: 'user_8f14e45f' });
    expect(plugin.identity(event('empty_clevertap_id'), settings())).toEqual({ identity: 'user_8f14e45f' });
  });
});
