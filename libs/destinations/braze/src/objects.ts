import { subscriptionStatus, type Planned, type SubscriptionEvent } from '@ferry/core';
import { eventName, identifier, identity, revenue } from './hooks';
import type { BrazeSettings } from './settings';

/** Braze's longest custom attribute key and string value, and longest property key (reference/braze.md §1.3, §1.5). */
export const MAX_KEY_LENGTH = 255;
export const MAX_STRING_LENGTH = 255;
export const CUSTOMER_ATTRIBUTE_PREFIX = 'rc_customer_attribute_';

/** What one delivery sends: an attributes object when it has something to write, and one event or one purchase. */
export interface DeliveryObjects {
  readonly attributes?: Record<string, unknown>;
  readonly event?: Record<string, unknown>;
  readonly purchase?: Record<string, unknown>;
  /** The attributes object carries the subscription state (the ordering guard allowed it, and the event has one). */
  readonly carriesState: boolean;
  /** Customer attributes left out, and why; the engine logs them. */
  readonly warnings: readonly string[];
}

/** `2025-03-01T10:00:02.000Z`: ISO 8601 in UTC with milliseconds, the form Braze reads as a time. */
export function brazeTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** An instant from a webhook field, or undefined when absent or out of range. */
function optionalTime(ms: unknown): string | undefined {
  return typeof ms === 'number' && Math.abs(ms) <= 8.64e15 ? brazeTime(ms) : undefined;
}

/** The properties RevenueCat's samples show (reference/braze.md §2.6), plus `currency` and `environment`; absent values left out. */
function eventProperties(event: SubscriptionEvent, settings: BrazeSettings): Record<string, unknown> {
  const money = revenue(event, settings);
  const present = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, value]) => value != null));
  return present({
    product_id: event.productId,
    store: event.store,
    revenue: money.amount,
    currency: money.currency,
    app_id: event.appId,
    environment: event.environment,
    cancel_reason: event.cancelReason,
    expiration_reason: event.expirationReason,
    new_product_id: event.newProductId,
    grace_period_expiration_at: optionalTime(event.gracePeriodExpirationAtMs),
    auto_resume_at: optionalTime(event.raw['auto_resume_at_ms']),
  });
}

/** Customer attributes as Braze custom attributes; reserved `$` ones (email, alias, device ids, …) are left out. */
function customerAttributes(deliveryId: string, event: SubscriptionEvent, warnings: string[]): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    if (name.startsWith('$')) continue;
    const key = `${CUSTOMER_ATTRIBUTE_PREFIX}${name}`;
    if (key.length > MAX_KEY_LENGTH) {
      warnings.push(
        `delivery ${deliveryId}: customer attribute left out: its key ${key.slice(0, 40)}… is over ${MAX_KEY_LENGTH} characters`,
      );
    } else if (value.length > MAX_STRING_LENGTH) {
      warnings.push(`delivery ${deliveryId}: customer attribute ${key} left out: its value is over ${MAX_STRING_LENGTH} characters`);
    } else attributes[key] = value;
  }
  return attributes;
}

/** The subscription's entitlements are active until it expires; an expiration leaves none. */
function activeEntitlementIds(event: SubscriptionEvent): readonly string[] {
  return event.kind === 'expiration' ? [] : event.entitlementIds;
}

/** The objects RevenueCat's Braze integration would send for this delivery (SPEC §14). */
export function buildObjects({ deliveryId, event, carriesState }: Planned, settings: BrazeSettings): DeliveryObjects {
  const warnings: string[] = [];
  const user = identity(event);
  const who = identifier(user);
  const isAlias = user['external_id'] === undefined;
  // The ordering guard's verdict: an event older than the state Braze already has goes without state.
  const status = carriesState === false ? undefined : subscriptionStatus(event);
  const written = {
    ...customerAttributes(deliveryId, event, warnings),
    ...(status !== undefined && { rc_subscription_status: status, rc_active_entitlement_ids: activeEntitlementIds(event) }),
  };
  // An alias profile exists only once an attributes object creates it; Braze drops alias events for unknown aliases.
  const attributes =
    Object.keys(written).length > 0 || isAlias ? { ...who, ...(isAlias && { _update_existing_only: false }), ...written } : undefined;

  const name = eventName(event, settings);
  const properties = eventProperties(event, settings);
  const time = brazeTime(event.timestampMs);
  const price = revenue(event, settings).amount;
  const asPurchase = settings.purchases && price > 0 && event.productId !== null;
  return {
    ...(attributes && { attributes }),
    ...(asPurchase
      ? {
          purchase: {
            ...who,
            product_id: event.productId,
            currency: 'USD',
            price,
            quantity: 1,
            time,
            properties: { rc_event_name: name, ...properties },
          },
        }
      : { event: { ...who, name, time, properties } }),
    carriesState: status !== undefined,
    warnings,
  };
}
