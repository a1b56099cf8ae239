import { revenueCatKinds, type Capabilities } from '@ferry/core';

/** What CleverTap takes, per RevenueCat's integration page (SPEC §3–§4) and CleverTap's upload limits. */
export const capabilities: Capabilities = {
  // 1000 records per request is CleverTap's documented limit; bytes are undocumented, 5 MB is the usual advice.
  batch: { maxItems: 1000, maxBytes: 5_000_000 },
  maxConcurrency: 15,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'separate-credentials',
  subscriptionState: true,
  kinds: revenueCatKinds(
    [
      'initial_purchase',
      'trial_started',
      'trial_converted',
      'trial_cancelled',
      'renewal',
      'cancellation',
      'uncancellation',
      'non_subscription_purchase',
    ],
    ['expiration', 'billing_issue', 'product_change'],
  ),
  summary: {
    revenue: 'purchase currency, 3 sales-reporting modes',
    sandbox: 'separate account id + passcode',
    attributes: 'all, as event properties',
    identity: '`$clevertapId` (any case) → `objectId`, else `identity` = app user id',
  },
};
