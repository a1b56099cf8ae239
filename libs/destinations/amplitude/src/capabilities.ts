import { revenueCatKinds, type Capabilities } from '@ferry/core';

/** Amplitude's HTTP V2 request limits: 2000 events and 1 MB of body (reference/amplitude.md §0). */
export const MAX_EVENTS_PER_REQUEST = 2000;
export const MAX_REQUEST_BYTES = 1_000_000;

/** What Amplitude takes, per RevenueCat's integration page (reference/amplitude.md §2.1–§2.2) and the HTTP V2 limits. */
export const capabilities: Capabilities = {
  // A request the plugin builds always fits, so Amplitude's 413 is only a safety net (README, "Answers").
  batch: { maxItems: MAX_EVENTS_PER_REQUEST, maxBytes: MAX_REQUEST_BYTES },
  // Amplitude limits events per user, not connections; 10 stays far below a starter plan's 100 requests/s.
  maxConcurrency: 10,
  negativeRevenue: true,
  transfers: false,
  sandbox: 'separate-credentials',
  subscriptionState: true,
  kinds: revenueCatKinds(
    ['initial_purchase', 'trial_started', 'trial_converted', 'trial_cancelled', 'renewal', 'cancellation'],
    ['uncancellation', 'non_subscription_purchase', 'expiration', 'billing_issue', 'product_change', 'subscription_paused'],
  ),
  summary: {
    revenue: 'USD, 3 sales-reporting modes',
    sandbox: 'separate project: `sandboxApiKey`',
    attributes: 'all, as `event_properties.subscriber_attributes`',
    identity: '`$amplitudeUserId` / `$amplitudeDeviceId` (any case) → `user_id` / `device_id`, else `user_id` = app user id',
  },
};
