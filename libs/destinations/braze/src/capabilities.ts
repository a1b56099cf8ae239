import { revenueCatKinds, type Capabilities } from '@ferry/core';

/** Braze's `/users/track` limit on current plans: 75 objects per request, attributes, events and purchases together (reference/braze.md §0). */
export const MAX_OBJECTS_PER_REQUEST = 75;

/** What Braze takes, per RevenueCat's Braze integration (reference/braze.md §2.1–§2.2) and `/users/track`'s limits. */
export const capabilities: Capabilities = {
  // Objects of every kind count against one limit; a delivery's objects (its attributes and its event or purchase)
  // are body records, so the engine's batches and the kit count them all. Braze documents no byte limit.
  batch: { maxItems: MAX_OBJECTS_PER_REQUEST },
  // Braze limits requests per workspace (3,000 every 3 s), not connections: 10 at once stays far below that at any
  // real latency (10 requests in flight answered in 10 ms each would be 1,000 a second, Braze's whole budget).
  maxConcurrency: 10,
  negativeRevenue: true,
  transfers: false,
  sandbox: 'separate-credentials',
  subscriptionState: true,
  // Unlike Amplitude's, RevenueCat's Braze integration cannot switch off non-subscription purchases or pauses.
  kinds: revenueCatKinds(
    [
      'initial_purchase',
      'trial_started',
      'trial_converted',
      'trial_cancelled',
      'renewal',
      'cancellation',
      'non_subscription_purchase',
      'subscription_paused',
    ],
    ['uncancellation', 'expiration', 'billing_issue', 'product_change'],
  ),
  summary: {
    revenue: 'USD, 3 sales-reporting modes; purchase objects (default) or events',
    sandbox: 'separate workspace: `sandboxApiKey`',
    attributes:
      'customer attributes as `rc_customer_attribute_<name>` (not `$` ones), with `rc_subscription_status` and `rc_active_entitlement_ids`',
    identity: '`$brazeAliasName` + `$brazeAliasLabel` (any case) → `user_alias`, else `external_id` = app user id',
  },
};
