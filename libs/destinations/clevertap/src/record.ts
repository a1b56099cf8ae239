import type { Planned, SubscriptionEvent } from '@ferry/core';
import { eventName, identity, revenue } from './hooks';
import type { CleverTapSettings } from './settings';

/** CleverTap rejects event properties beyond these (upload-events-api). */
const MAX_KEY_CHARS = 120;
const MAX_VALUE_BYTES = 512;

type PropertyValue = string | number;

export interface CleverTapRecord {
  readonly type: 'event';
  readonly evtName: string;
  readonly evtData: Readonly<Record<string, PropertyValue>>;
  readonly ts: number;
  readonly identity?: string;
  readonly objectId?: string;
}

export interface BuiltRecord {
  readonly record: CleverTapRecord;
  /** Properties left out, named by key and size (never by value: attributes may be personal data). */
  readonly warnings: readonly string[];
}

/** The properties RevenueCat's integration sends for every event, plus the kind-specific ones; null means absent. */
function standardProperties(event: SubscriptionEvent, settings: CleverTapSettings): Record<string, PropertyValue | null> {
  const { amount, currency } = revenue(event, settings);
  return {
    amount,
    currency,
    product_id: event.productId,
    app_id: event.appId,
    cancel_reason: event.kind === 'cancellation' || event.kind === 'trial_cancelled' ? event.cancelReason : null,
    expiration_reason: event.kind === 'expiration' ? event.expirationReason : null,
    new_product_id: event.kind === 'product_change' ? event.newProductId : null,
    grace_period_expiration_at: event.kind === 'billing_issue' ? event.gracePeriodExpirationAtMs : null,
  };
}

function limitProblem(key: string, value: PropertyValue): string | undefined {
  const keyChars = [...key].length;
  if (keyChars > MAX_KEY_CHARS) return `key "${key.slice(0, 40)}…" is ${keyChars} characters (limit ${MAX_KEY_CHARS})`;
  const bytes = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0;
  if (bytes > MAX_VALUE_BYTES) return `value of "${key}" is ${bytes} bytes (limit ${MAX_VALUE_BYTES})`;
  return undefined;
}

/** One upload record for a delivery: the standard properties, then every subscriber attribute as `key: value`. */
export function buildRecord({ deliveryId, event }: Planned, settings: CleverTapSettings): BuiltRecord {
  const standard = standardProperties(event, settings);
  const warnings: string[] = [];
  const properties: [string, PropertyValue][] = [];
  const add = (key: string, value: PropertyValue) => {
    const problem = limitProblem(key, value);
    if (problem) warnings.push(`delivery ${deliveryId}: evtData property left out, ${problem}`);
    else properties.push([key, value]);
  };
  for (const [key, value] of Object.entries(standard)) if (value !== null) add(key, value);
  for (const [key, value] of Object.entries(event.attributes)) {
    // An attribute must not pass itself off as revenue or product (custom keys like `amount` are legal in RevenueCat).
    if (Object.hasOwn(standard, key))
      warnings.push(`delivery ${deliveryId}: attribute "${key}" left out, it would replace a standard property`);
    else add(key, value);
  }
  return {
    record: {
      type: 'event',
      evtName: eventName(event, settings),
      // fromEntries defines own properties, so even a key like `__proto__` is kept as data.
      evtData: Object.fromEntries(properties),
      ts: Math.floor(event.timestampMs / 1000),
      ...identity(event),
    },
    warnings,
  };
}
