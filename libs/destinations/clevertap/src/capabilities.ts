import type { Capabilities, KindSupport } from '@ferry/core';

const required = (defaultName: string): KindSupport => ({ defaultName, optional: false });
const optional = (defaultName: string): KindSupport => ({ defaultName, optional: true });

/** What CleverTap takes, per RevenueCat's integration page (SPEC §3–§4) and CleverTap's upload limits. */
export const capabilities: Capabilities = {
  // 1000 records per request is CleverTap's documented limit; bytes are undocumented, 5 MB is the usual advice.
  batch: { maxItems: 1000, maxBytes: 5_000_000 },
  maxConcurrency: 15,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'separate-credentials',
  kinds: {
    initial_purchase: required('rc_initial_purchase_event'),
    trial_started: required('rc_trial_started_event'),
    trial_converted: required('rc_trial_converted_event'),
    trial_cancelled: required('rc_trial_cancelled_event'),
    renewal: required('rc_renewal_event'),
    cancellation: required('rc_cancellation_event'),
    uncancellation: required('rc_uncancellation_event'),
    non_subscription_purchase: required('rc_non_subscription_purchase_event'),
    expiration: optional('rc_expiration_event'),
    billing_issue: optional('rc_billing_issue_event'),
    product_change: optional('rc_product_change_event'),
  },
};
