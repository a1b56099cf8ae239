import type { SubscriptionEvent } from './event';

/** RevenueCat's `rc_subscription_status` values (SPEC §12; reference/amplitude.md §2.6). */
export const SUBSCRIPTION_STATUSES = [
  'active',
  'intro',
  'cancelled',
  'grace_period',
  'trial',
  'cancelled_trial',
  'grace_period_trial',
  'expired',
  'promotional',
  'expired_promotional',
  'paused',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/**
 * The subscription state this event leaves the user in. RevenueCat documents the values, not how it derives
 * them from one event; this reading is ours, and every plugin shares it. Purchases that are not subscriptions and product changes leave
 * the state as it was, so they set nothing.
 */
export function subscriptionStatus(event: SubscriptionEvent): SubscriptionStatus | undefined {
  const promotional = event.periodType === 'PROMOTIONAL' || event.store === 'PROMOTIONAL';
  switch (event.kind) {
    case 'trial_started':
      return 'trial';
    case 'trial_converted':
      return 'active';
    case 'trial_cancelled':
      return 'cancelled_trial';
    case 'initial_purchase':
    case 'renewal':
    case 'uncancellation':
      if (promotional) return 'promotional';
      if (event.periodType === 'TRIAL') return 'trial';
      return event.periodType === 'INTRO' ? 'intro' : 'active';
    case 'cancellation':
      return 'cancelled';
    case 'expiration':
      return promotional ? 'expired_promotional' : 'expired';
    case 'billing_issue':
      return event.periodType === 'TRIAL' ? 'grace_period_trial' : 'grace_period';
    case 'subscription_paused':
      return 'paused';
    default:
      return undefined;
  }
}
