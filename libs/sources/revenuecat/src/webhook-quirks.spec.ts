import type { EventKind } from '@ferry/core';
import { parseRevenueCatWebhookText } from './index';

/**
 * The oddities RevenueCat's own published sample webhooks show (see real-samples.spec.ts), reproduced in
 * webhooks written here with invented values, so a clone without those samples still proves Ferry takes them.
 */
interface Quirk {
  readonly event: Record<string, unknown>;
  readonly kind: EventKind | null;
  readonly expected: Record<string, unknown>;
}

const attribute = (value: string) => ({ value, updated_at_ms: 1_700_000_000_000 });

const quirks: Record<string, Quirk> = {
  'an attribute key with a dollar sign, a space and capitals': {
    event: {
      id: 'NotAUuidButAName',
      type: 'INITIAL_PURCHASE',
      app_user_id: 'quirk-user-1',
      event_timestamp_ms: 1_700_000_000_000,
      environment: 'PRODUCTION',
      period_type: 'NORMAL',
      price: 3.49,
      subscriber_attributes: { '$Preferred Bird': attribute('Heron'), 'plain key': attribute('x'), $email: attribute('a@b.example') },
    },
    kind: 'initial_purchase',
    expected: { id: 'NotAUuidButAName', attributes: { '$Preferred Bird': 'Heron', 'plain key': 'x', $email: 'a@b.example' } },
  },
  'no app_id': {
    event: { id: 'q-2', type: 'CANCELLATION', app_user_id: 'quirk-user-2', event_timestamp_ms: 1_600_000_000_000, environment: 'SANDBOX' },
    kind: 'cancellation',
    expected: { appId: null, environment: 'SANDBOX' },
  },
  'no environment, no store, no prices': {
    event: { id: 'q-3', type: 'EXPERIMENT_ENROLLMENT', app_user_id: 'quirk-user-3', event_timestamp_ms: 1_650_000_000_000 },
    kind: null,
    expected: { environment: 'PRODUCTION', store: null, priceUsd: null, priceInPurchasedCurrency: null, currency: null },
  },
  'no app_user_id, a timestamp thousands of years ahead': {
    event: {
      id: 'q-4',
      type: 'TRANSFER',
      event_timestamp_ms: 65_432_109_876_543,
      environment: 'PRODUCTION',
      transferred_from: ['quirk-user-4a'],
      transferred_to: ['quirk-user-4b'],
    },
    kind: null,
    expected: { appUserId: null, timestampMs: 65_432_109_876_543, transferredFrom: ['quirk-user-4a'], transferredTo: ['quirk-user-4b'] },
  },
  'a purchase after its own event, an expiration before the purchase': {
    event: {
      id: 'q-5',
      type: 'RENEWAL',
      app_user_id: 'quirk-user-5',
      event_timestamp_ms: 1_600_000_000_000,
      purchased_at_ms: 1_600_090_000_000,
      expiration_at_ms: 1_500_000_000_000,
    },
    kind: 'renewal',
    expected: { purchasedAtMs: 1_600_090_000_000, expirationAtMs: 1_500_000_000_000 },
  },
  'nulls where values usually are': {
    event: {
      id: 'q-6',
      type: 'INVOICE_ISSUANCE',
      app_user_id: 'quirk-user-6',
      event_timestamp_ms: 1_745_000_000_000,
      environment: 'PRODUCTION',
      period_type: null,
      expiration_at_ms: null,
      entitlement_id: null,
      entitlement_ids: null,
      presented_offering_id: null,
      transaction_id: null,
      original_transaction_id: null,
      offer_code: null,
      tax_percentage: null,
      commission_percentage: null,
      takehome_percentage: null,
      renewal_number: null,
      metadata: null,
      currency: 'USD',
      price_in_purchased_currency: 4,
    },
    kind: null,
    expected: {
      periodType: null,
      expirationAtMs: null,
      entitlementIds: [],
      transactionId: null,
      taxPercentage: null,
      commissionPercentage: null,
      renewalNumber: null,
      priceUsd: null,
      priceInPurchasedCurrency: 4,
    },
  },
  'fields Ferry does not know, nested and flat': {
    event: {
      id: 'q-7',
      type: 'VIRTUAL_CURRENCY_TRANSACTION',
      app_user_id: 'quirk-user-7',
      event_timestamp_ms: 1_700_000_000_000,
      purchase_environment: 'PRODUCTION',
      adjustments: [{ amount: 50, currency: { code: 'GEM', name: 'Gems' } }],
      experiments: [{ experiment_id: 'exp-1', experiment_variant: 'b', enrolled_at_ms: 1 }],
      product_display_name: 'A bag of gems',
      auto_resume_at_ms: 1_700_100_000_000,
    },
    kind: null,
    expected: { type: 'VIRTUAL_CURRENCY_TRANSACTION', environment: 'PRODUCTION' },
  },
  'a negative price (a refund)': {
    event: {
      id: 'q-8',
      type: 'CANCELLATION',
      app_user_id: 'quirk-user-8',
      event_timestamp_ms: 1_600_000_000_000,
      cancel_reason: 'CUSTOMER_SUPPORT',
      price: -4.99,
      price_in_purchased_currency: -4.59,
      currency: 'EUR',
    },
    kind: 'cancellation',
    expected: { cancelReason: 'CUSTOMER_SUPPORT', priceUsd: -4.99, priceInPurchasedCurrency: -4.59, currency: 'EUR' },
  },
};

describe('webhooks with the quirks of RevenueCat’s published samples', () => {
  it.each(Object.keys(quirks))('%s parses, keeping the event as received', (name) => {
    const { event, kind, expected } = quirks[name];
    const text = JSON.stringify({ api_version: '1.0', event });
    const result = parseRevenueCatWebhookText(text);
    if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.issues)}`);
    expect(result.value).toMatchObject({ kind, ...expected });
    expect(result.value.raw).toEqual(event);
  });

  it('parses webhooks that share an id, each as itself (ingest, not parsing, decides duplicates)', () => {
    const shared = '00000000-0000-0000-0000-0000000000aa';
    const [renewal, expiration] = [
      { id: shared, type: 'RENEWAL', app_user_id: 'quirk-user-9', event_timestamp_ms: 1_700_000_000_000 },
      {
        id: shared,
        type: 'EXPIRATION',
        app_user_id: 'quirk-user-9',
        event_timestamp_ms: 1_700_000_500_000,
        expiration_reason: 'UNSUBSCRIBE',
      },
    ].map((event) => parseRevenueCatWebhookText(JSON.stringify({ api_version: '1.0', event })));
    expect(renewal).toMatchObject({ ok: true, value: { id: shared, kind: 'renewal' } });
    expect(expiration).toMatchObject({ ok: true, value: { id: shared, kind: 'expiration', expirationReason: 'UNSUBSCRIBE' } });
  });
});
