import type { EventKind } from '@ferry/core';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRevenueCatWebhookText } from './index';

// RevenueCat's own published bodies. They may not be copied into the project, so they are read from `shared/`
// beside the clone (as on CI and developer machines), or from FERRY_REAL_SAMPLES. A plain clone has neither
// and skips this suite: webhook-quirks.spec.ts covers the same oddities there. CI must have them.
const SAMPLES = process.env.FERRY_REAL_SAMPLES ?? path.resolve(__dirname, '../../../../../shared/real-samples/revenuecat-webhooks');
const present = existsSync(SAMPLES);
if (!present && process.env.CI === 'true') {
  test('RevenueCat real samples: present under CI', () => {
    throw new Error(`no real samples at ${SAMPLES}: CI=true needs them (set FERRY_REAL_SAMPLES to their folder)`);
  });
} else if (!present) {
  console.warn(`RevenueCat real samples skipped: no folder at ${SAMPLES} (set FERRY_REAL_SAMPLES to run them)`);
}

/** What each sample must become, read off the files by hand. */
const expected: Record<string, { kind: EventKind | null; check?: Record<string, unknown> }> = {
  'event-types-and-fields_1.json': { kind: 'initial_purchase', check: { attributes: { '$Favorite Cat': 'Garfield' }, priceUsd: 2.49 } },
  'sample-event-experiment-enrollment.json': { kind: null, check: { environment: 'PRODUCTION', store: null } },
  'sample-event-invoice-issuance.json': {
    kind: null,
    check: { periodType: null, transactionId: null, priceUsd: null, priceInPurchasedCurrency: 9 },
  },
  'sample-event-refund-reversed.json': { kind: null, check: { type: 'REFUND_REVERSED' } },
  'sample-event-temporary-entitlement-grant.json': { kind: null, check: { environment: 'PRODUCTION', appUserId: '41234567890' } },
  'sample-events_1.json': { kind: 'initial_purchase' },
  'sample-events_2.json': { kind: 'renewal', check: { currency: 'EUR', priceInPurchasedCurrency: 7.99, priceUsd: 8.14 } },
  'sample-events_3.json': {
    kind: 'cancellation',
    check: {
      appId: null,
      attributes: { $idfa: '12345678-1234-1234-1234-12345678912x', $appsflyerId: '1234567891234-1234567', favorite_food: 'pizza' },
    },
  },
  'sample-events_4.json': { kind: 'uncancellation', check: { attributes: {} } },
  'sample-events_5.json': { kind: 'non_subscription_purchase', check: { expirationAtMs: null } },
  'sample-events_6.json': { kind: 'subscription_paused' },
  'sample-events_7.json': { kind: 'billing_issue' },
  'sample-events_8.json': {
    kind: null,
    check: { type: 'TRANSFER', appUserId: null, timestampMs: 78789789798798, transferredTo: ['4BEDB450-8EF2-11E9-B475-0800200C9A66'] },
  },
  'sample-events_9.json': { kind: 'cancellation', check: { cancelReason: 'CUSTOMER_SUPPORT', priceUsd: -9.99 } },
  'sample-events_10.json': { kind: 'product_change', check: { newProductId: 'com.revenuecat.myapp.yearly' } },
  'sample-events_11.json': { kind: 'trial_started' },
  'sample-events_12.json': { kind: 'trial_cancelled' },
  'sample-events_13.json': { kind: 'expiration', check: { expirationReason: 'UNSUBSCRIBE' } },
  'sample-events_14.json': { kind: null, check: { type: 'SUBSCRIPTION_EXTENDED' } },
  'sample-events_15.json': { kind: null, check: { type: 'VIRTUAL_CURRENCY_TRANSACTION', environment: 'PRODUCTION' } },
};

(present ? describe : describe.skip)(
  present ? 'RevenueCat real samples' : `RevenueCat real samples (SKIPPED: no folder at ${SAMPLES})`,
  () => {
    const files = present ? readdirSync(SAMPLES).filter((name) => name.endsWith('.json')) : [];

    it('are all listed here, so a new sample cannot go unchecked', () => {
      expect(files.sort()).toEqual(Object.keys(expected).sort());
    });

    it.each(Object.keys(expected))('%s parses to the expected event', (file) => {
      const text = readFileSync(path.join(SAMPLES, file), 'utf8');
      const result = parseRevenueCatWebhookText(text);
      if (!result.ok) throw new Error(`${file}: ${JSON.stringify(result.issues)}`);
      const { kind, check = {} } = expected[file];
      expect(result.value).toMatchObject({ kind, ...check });
      expect(result.value.raw).toEqual(JSON.parse(text).event);
    });
  },
);
