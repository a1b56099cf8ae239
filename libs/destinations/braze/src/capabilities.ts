import { revenueCatKinds, type Capabilities } from '@ferry/core';

/**
 * What Braze takes, declared once: the engine batches and caps concurrency by it and the
 * contract kit checks the hooks behave as declared. The limits below are placeholders: set them from
 * Braze's API documentation before enabling the destination.
 */
export const capabilities: Capabilities = {
  batch: { maxItems: 100, maxBytes: 1_000_000 },
  maxConcurrency: 5,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'drop',
  // Every kind under RevenueCat's names; the optional ones can be switched off through `eventNames`.
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
    ['expiration', 'billing_issue', 'product_change', 'subscription_paused'],
  ),
};
