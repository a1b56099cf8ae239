import type { Planned, SubscriptionEvent } from '@ferry/core';
import { eventName, identity, revenue } from './hooks';
import type { AmplitudeSettings } from './settings';

/** One entry of an HTTP V2 request's `events`, as RevenueCat's integration sends it (reference/amplitude.md §2.5). */
export interface AmplitudeEvent {
  readonly event_type: string;
  readonly user_id?: string;
  readonly device_id?: string;
  /** Milliseconds since the epoch: when the event happened. */
  readonly time: number;
  /** The webhook id: Amplitude ignores a repeat within 7 days, so a resend never counts twice. */
  readonly insert_id: string;
  readonly platform?: string;
  /** USD after the sales-reporting option; negative for refunds, 0 for events without revenue. */
  readonly revenue: number;
  readonly productId?: string;
  readonly event_properties: Readonly<Record<string, unknown>>;
  readonly user_properties?: { readonly rc_subscription_status: SubscriptionStatus };
}

/** RevenueCat's `rc_subscription_status` values (reference/amplitude.md §2.6). */
export type SubscriptionStatus =
  | 'active'
  | 'intro'
  | 'cancelled'
  | 'grace_period'
  | 'trial'
  | 'cancelled_trial'
  | 'grace_period_trial'
  | 'expired'
  | 'promotional'
  | 'expired_promotional'
  | 'paused';

/** Amplitude's `platform` per store; undocumented by RevenueCat (its samples are all App Store → "iOS"). */
const PLATFORMS: Readonly<Record<string, string>> = {
  APP_STORE: 'iOS',
  MAC_APP_STORE: 'macOS',
  PLAY_STORE: 'Android',
  AMAZON: 'Android',
  STRIPE: 'Web',
  RC_BILLING: 'Web',
  PADDLE: 'Web',
  ROKU: 'Roku',
};

/**
 * The subscription state this event leaves the user in. RevenueCat documents the values, not how it derives
 * them from one event; this reading is ours. Purchases that are not subscriptions and product changes leave
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

/** An instant as RevenueCat writes it for Amplitude (`2022-09-06T19:44:59Z`), or null when absent or out of range. */
function isoSeconds(ms: unknown): string | null {
  if (typeof ms !== 'number' || !(Math.abs(ms) <= 8.64e15)) return null; // NaN fails the comparison too
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The properties that only some kinds carry. */
function kindProperties(event: SubscriptionEvent): Record<string, unknown> {
  switch (event.kind) {
    case 'cancellation':
    case 'trial_cancelled':
      return { cancel_reason: event.cancelReason };
    case 'expiration':
      return { expiration_reason: event.expirationReason };
    case 'billing_issue':
      return { grace_period_expiration_at: isoSeconds(event.gracePeriodExpirationAtMs) };
    case 'subscription_paused':
      return { auto_resume_at: isoSeconds(event.raw['auto_resume_at_ms']) };
    case 'product_change':
      return { new_product_id: event.newProductId };
    default:
      return {};
  }
}

/** The event RevenueCat's integration would send for this delivery. */
export function buildEvent({ event }: Planned, settings: AmplitudeSettings): AmplitudeEvent {
  const usd = revenue(event, settings).amount;
  const status = subscriptionStatus(event);
  const platform = event.store !== null && Object.hasOwn(PLATFORMS, event.store) ? PLATFORMS[event.store] : undefined;
  const entitlementId = event.raw['entitlement_id'];
  return {
    event_type: eventName(event, settings),
    ...identity(event),
    time: Math.trunc(event.timestampMs),
    insert_id: event.id,
    ...(platform !== undefined && { platform }),
    revenue: usd,
    ...(event.productId !== null && { productId: event.productId }),
    event_properties: {
      subscriber_attributes: event.attributes,
      period_type: event.periodType,
      purchased_at: isoSeconds(event.purchasedAtMs),
      expiration_at: isoSeconds(event.expirationAtMs),
      environment: event.environment,
      entitlement_id: typeof entitlementId === 'string' ? entitlementId : null,
      entitlement_ids: event.entitlementIds.length > 0 ? event.entitlementIds : null,
      presented_offering_id: event.presentedOfferingId,
      transaction_id: event.transactionId,
      original_transaction_id: event.originalTransactionId,
      aliases: event.aliases,
      original_app_user_id: event.originalAppUserId,
      store: event.store,
      app_user_id: event.appUserId,
      product_id: event.productId,
      currency: event.currency,
      revenue: usd,
      ...kindProperties(event),
      app_id: event.appId,
    },
    ...(status !== undefined && { user_properties: { rc_subscription_status: status } }),
  };
}
