import { subscriptionStatus, type Planned, type SubscriptionEvent, type SubscriptionStatus } from '@ferry/core';
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
export function buildEvent({ event, carriesState }: Planned, settings: AmplitudeSettings): AmplitudeEvent {
  const usd = revenue(event, settings).amount;
  // The ordering guard's verdict: an event older than the state Amplitude already has goes without state.
  const status = carriesState === false ? undefined : subscriptionStatus(event);
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
