import { subscriptionStatus, type Money, type Planned, type SubscriptionEvent } from '@ferry/core';
import { eventName, identity, revenue } from './hooks';
import type { CleverTapSettings } from './settings';

/** CleverTap rejects event properties beyond these (upload-events-api). */
const MAX_KEY_CHARS = 120;
const MAX_VALUE_BYTES = 512;

/** CleverTap keeps at most 100 values in a multi-value profile property (platform-considerations). */
const MAX_MULTI_VALUES = 100;

type PropertyValue = string | number;
type UserKey = { readonly identity?: string; readonly objectId?: string };

export type CleverTapEventRecord = UserKey & {
  readonly type: 'event';
  readonly evtName: string;
  readonly evtData: Readonly<Record<string, PropertyValue>>;
  readonly ts: number;
};

/** CleverTap's purchase event: the one its revenue analytics count; `Items` is the only array it takes in evtData. */
export type ChargedRecord = UserKey & {
  readonly type: 'event';
  readonly evtName: 'Charged';
  readonly evtData: {
    readonly Amount: number;
    readonly Currency: string;
    readonly 'Charged ID': string;
    readonly Items: readonly { readonly product_id?: string; readonly Quantity: 1 }[];
  };
  readonly ts: number;
};

export type ProfileRecord = UserKey & {
  readonly type: 'profile';
  readonly profileData: Readonly<Record<string, string | readonly string[]>>;
  readonly ts: number;
};

export type CleverTapRecord = CleverTapEventRecord | ChargedRecord | ProfileRecord;

/** What a record is to its delivery: the rc_ event decides the delivery's outcome, the others ride along. */
export type RecordPart = 'event' | 'Charged' | 'profile';

export interface BuiltRecords {
  /** The delivery's records in body order: the event first, then `Charged`, then the profile update. */
  readonly records: readonly { readonly part: RecordPart; readonly record: CleverTapRecord }[];
  /** Properties left out, named by key and size (never by value: attributes may be personal data). */
  readonly warnings: readonly string[];
}

/** The properties RevenueCat's integration sends for every event, plus the kind-specific ones; null means absent. */
function standardProperties(event: SubscriptionEvent, { amount, currency }: Money): Record<string, PropertyValue | null> {
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
  // Counted only when they could be over: a string has no more characters than UTF-16 units, nor more than 3 UTF-8 bytes per unit.
  const keyChars = key.length > MAX_KEY_CHARS ? [...key].length : key.length;
  if (keyChars > MAX_KEY_CHARS) return `key "${key.slice(0, 40)}…" is ${keyChars} characters (limit ${MAX_KEY_CHARS})`;
  const bytes = typeof value === 'string' && value.length * 3 > MAX_VALUE_BYTES ? Buffer.byteLength(value, 'utf8') : 0;
  if (bytes > MAX_VALUE_BYTES) return `value of "${key}" is ${bytes} bytes (limit ${MAX_VALUE_BYTES})`;
  return undefined;
}

/** Sets `key` as an own data property, even a key like `__proto__`, which plain assignment would take as the prototype. */
function setProperty(target: Record<string, PropertyValue>, key: string, value: PropertyValue): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Adds a property to `evtData` unless it is over CleverTap's limits, which leaves a warning instead. */
function addProperty(
  evtData: Record<string, PropertyValue>,
  key: string,
  value: PropertyValue,
  deliveryId: string,
  warnings: string[],
): void {
  const problem = limitProblem(key, value);
  if (problem) warnings.push(`delivery ${deliveryId}: evtData property left out, ${problem}`);
  else setProperty(evtData, key, value);
}

/** The rc_ event record: the standard properties, then every subscriber attribute as `key: value`. */
function eventRecord({ deliveryId, event }: Planned, settings: CleverTapSettings, money: Money, warnings: string[]): CleverTapEventRecord {
  const standard = standardProperties(event, money);
  // Filled in place rather than through entry arrays: this runs for every event a drain sends.
  const evtData: Record<string, PropertyValue> = {};
  for (const key in standard) {
    const value = standard[key];
    if (value !== null) addProperty(evtData, key, value, deliveryId, warnings);
  }
  const { attributes } = event;
  for (const key of Object.keys(attributes)) {
    // An attribute must not pass itself off as revenue or product (custom keys like `amount` are legal in RevenueCat).
    if (Object.hasOwn(standard, key))
      warnings.push(`delivery ${deliveryId}: attribute "${key}" left out, it would replace a standard property`);
    else addProperty(evtData, key, attributes[key], deliveryId, warnings);
  }
  return {
    type: 'event',
    evtName: eventName(event, settings),
    evtData,
    ts: Math.floor(event.timestampMs / 1000),
    ...identity(event),
  };
}

/** `Charged` for an event with positive revenue (SPEC §12), the same amount as the rc_ event's. */
function chargedRecord(event: SubscriptionEvent, { amount, currency }: Money): ChargedRecord | undefined {
  if (!(amount > 0)) return undefined;
  return {
    type: 'event',
    evtName: 'Charged',
    evtData: {
      Amount: amount,
      Currency: currency,
      'Charged ID': event.id,
      Items: [{ ...(event.productId !== null && { product_id: event.productId }), Quantity: 1 }],
    },
    ts: Math.floor(event.timestampMs / 1000),
    ...identity(event),
  };
}

/** The profile update for the status the event leaves the user in (SPEC §12), or undefined when it sets none. */
function profileRecord({ deliveryId, event, carriesState }: Planned, warnings: string[]): ProfileRecord | undefined {
  // The ordering guard's verdict: an event older than the state CleverTap already has must not overwrite it.
  const status = carriesState === false ? undefined : subscriptionStatus(event);
  if (status === undefined) return undefined;
  const fits = (key: string, value: string) => {
    const problem = limitProblem(key, value);
    if (problem) warnings.push(`delivery ${deliveryId}: profileData ${problem}, left out`);
    return !problem;
  };
  const entitlements = event.entitlementIds.filter((id) => fits('rc_entitlements', id));
  if (entitlements.length > MAX_MULTI_VALUES)
    warnings.push(`delivery ${deliveryId}: rc_entitlements keeps the first ${MAX_MULTI_VALUES} of ${entitlements.length} values`);
  const profileData: Record<string, string | readonly string[]> = {
    rc_subscription_status: status,
    rc_entitlements: entitlements.slice(0, MAX_MULTI_VALUES),
  };
  if (event.productId !== null && fits('rc_product_id', event.productId)) profileData.rc_product_id = event.productId;
  if (event.store !== null && fits('rc_store', event.store)) profileData.rc_store = event.store;
  if (event.expirationAtMs !== null) profileData.rc_expires_at = `$D_${Math.floor(event.expirationAtMs / 1000)}`;
  return { type: 'profile', profileData, ts: Math.floor(event.timestampMs / 1000), ...identity(event) };
}

/**
 * The upload records for a delivery: its rc_ event; with `chargedEvent`, `Charged` when the revenue is positive;
 * with `profileSync`, the profile update for the status the event leaves the user in, keyed like the event.
 */
export function buildRecords(planned: Planned, settings: CleverTapSettings): BuiltRecords {
  const warnings: string[] = [];
  // Both the rc_ event and `Charged` carry it: computed once.
  const money = revenue(planned.event, settings);
  const records: { part: RecordPart; record: CleverTapRecord }[] = [
    { part: 'event', record: eventRecord(planned, settings, money, warnings) },
  ];
  const charged = settings.chargedEvent ? chargedRecord(planned.event, money) : undefined;
  if (charged) records.push({ part: 'Charged', record: charged });
  const profile = settings.profileSync ? profileRecord(planned, warnings) : undefined;
  if (profile) records.push({ part: 'profile', record: profile });
  return { records, warnings };
}
