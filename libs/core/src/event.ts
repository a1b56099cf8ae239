/**
 * The normalised subscription event every destination plugin receives. Sources (RevenueCat today)
 * turn their webhooks into this shape; plugins never see a source's wire format except through `raw`.
 */

/** Event kinds a destination can take, in RevenueCat's integration vocabulary (SPEC §3). */
export const EVENT_KINDS = [
  'initial_purchase',
  'trial_started',
  'trial_converted',
  'trial_cancelled',
  'renewal',
  'cancellation',
  'uncancellation',
  'non_subscription_purchase',
  'expiration',
  'billing_issue',
  'product_change',
  'subscription_paused',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

export type Environment = 'PRODUCTION' | 'SANDBOX';

export interface SubscriptionEvent {
  /** Source-unique id; the idempotency key for ingest. */
  readonly id: string;
  /** Which source produced it, e.g. `revenuecat`. */
  readonly source: string;
  /** The source's own type string, kept verbatim (`INITIAL_PURCHASE`, `TRANSFER`, `SOMETHING_NEW`). */
  readonly type: string;
  /** The classified kind, or null when no destination takes this type (TEST, TRANSFER, unknown types). */
  readonly kind: EventKind | null;
  readonly environment: Environment;
  /** When the event was generated, in milliseconds since the epoch. */
  readonly timestampMs: number;
  /** The user the event is about; null for events that carry none (TRANSFER). */
  readonly appUserId: string | null;
  readonly originalAppUserId: string | null;
  readonly aliases: readonly string[];
  readonly appId: string | null;
  readonly store: string | null;
  readonly periodType: string | null;
  readonly productId: string | null;
  readonly newProductId: string | null;
  readonly entitlementIds: readonly string[];
  readonly purchasedAtMs: number | null;
  readonly expirationAtMs: number | null;
  readonly gracePeriodExpirationAtMs: number | null;
  readonly isTrialConversion: boolean;
  readonly cancelReason: string | null;
  readonly expirationReason: string | null;
  /** Price in USD; negative for refunds; null when unknown. */
  readonly priceUsd: number | null;
  /** Price in the purchase currency (`currency`); null when unknown. */
  readonly priceInPurchasedCurrency: number | null;
  readonly currency: string | null;
  readonly taxPercentage: number | null;
  readonly commissionPercentage: number | null;
  readonly countryCode: string | null;
  readonly transactionId: string | null;
  readonly originalTransactionId: string | null;
  readonly presentedOfferingId: string | null;
  readonly renewalNumber: number | null;
  readonly transferredFrom: readonly string[];
  readonly transferredTo: readonly string[];
  /** Subscriber attributes, value only, keys verbatim (reserved ones keep their `$`). */
  readonly attributes: Readonly<Record<string, string>>;
  /** The source's event object as received, for plugins that forward fields not modelled above. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** The fields every source must set itself; the rest it may leave as `UNKNOWN_EVENT_FIELDS` says. */
type EventEssentials = 'id' | 'source' | 'type' | 'kind' | 'environment' | 'timestampMs' | 'appUserId' | 'raw';

/**
 * Every optional field of an event as unknown (null, empty): a source whose webhooks do not carry them
 * spreads this and sets what it knows, so it never lists the fields it has no word for.
 */
export const UNKNOWN_EVENT_FIELDS: Readonly<Omit<SubscriptionEvent, EventEssentials>> = Object.freeze({
  originalAppUserId: null,
  aliases: [],
  appId: null,
  store: null,
  periodType: null,
  productId: null,
  newProductId: null,
  entitlementIds: [],
  purchasedAtMs: null,
  expirationAtMs: null,
  gracePeriodExpirationAtMs: null,
  isTrialConversion: false,
  cancelReason: null,
  expirationReason: null,
  priceUsd: null,
  priceInPurchasedCurrency: null,
  currency: null,
  taxPercentage: null,
  commissionPercentage: null,
  countryCode: null,
  transactionId: null,
  originalTransactionId: null,
  presentedOfferingId: null,
  renewalNumber: null,
  transferredFrom: [],
  transferredTo: [],
  attributes: {},
});
