import {
  compileSchema,
  credentialCheck,
  nestingIssue,
  type EventKind,
  type ParseResult,
  type SourcePlugin,
  type SubscriptionEvent,
} from '@ferry/core';
import type { z } from 'zod';
import { revenueCatWebhookSchema, type RevenueCatEvent, type RevenueCatWebhook } from './schema';
import { EXAMPLE_WEBHOOK, revenueCatSettings, type RevenueCatSettings } from './settings';

export const REVENUECAT_SOURCE_ID = 'revenuecat';

/** The event kind of a RevenueCat webhook (SPEC §3), or null when no destination takes its type. */
export function classify(event: Pick<RevenueCatEvent, 'type' | 'period_type' | 'is_trial_conversion'>): EventKind | null {
  switch (event.type) {
    case 'INITIAL_PURCHASE':
      return event.period_type === 'TRIAL' ? 'trial_started' : 'initial_purchase';
    case 'RENEWAL':
      return event.is_trial_conversion === true ? 'trial_converted' : 'renewal';
    case 'CANCELLATION':
      return event.period_type === 'TRIAL' ? 'trial_cancelled' : 'cancellation';
    case 'UNCANCELLATION':
      return 'uncancellation';
    case 'NON_RENEWING_PURCHASE':
      return 'non_subscription_purchase';
    case 'EXPIRATION':
      return 'expiration';
    case 'BILLING_ISSUE':
      return 'billing_issue';
    case 'PRODUCT_CHANGE':
      return 'product_change';
    case 'SUBSCRIPTION_PAUSED':
      return 'subscription_paused';
    default:
      return null;
  }
}

/** Subscriber attributes as `key: value`; a null or absent value means deleted, so it is left out. */
function flattenAttributes(attributes: RevenueCatEvent['subscriber_attributes']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const key in attributes) {
    const { value } = attributes[key];
    if (typeof value === 'string') flat[key] = value;
  }
  return flat;
}

/** The normalised event of a validated webhook. */
export function toSubscriptionEvent(webhook: RevenueCatWebhook): SubscriptionEvent {
  const { event } = webhook;
  return {
    id: event.id,
    source: REVENUECAT_SOURCE_ID,
    type: event.type,
    kind: classify(event),
    // Some of RevenueCat's own samples carry no environment; only SANDBOX events are marked as such.
    environment: event.environment ?? 'PRODUCTION',
    timestampMs: event.event_timestamp_ms,
    appUserId: event.app_user_id ?? null,
    originalAppUserId: event.original_app_user_id ?? null,
    aliases: event.aliases ?? [],
    appId: event.app_id ?? null,
    store: event.store ?? null,
    periodType: event.period_type ?? null,
    productId: event.product_id ?? null,
    newProductId: event.new_product_id ?? null,
    // Older webhooks name one entitlement in the deprecated `entitlement_id` instead.
    entitlementIds: event.entitlement_ids ?? (event.entitlement_id ? [event.entitlement_id] : []),
    purchasedAtMs: event.purchased_at_ms ?? null,
    expirationAtMs: event.expiration_at_ms ?? null,
    gracePeriodExpirationAtMs: event.grace_period_expiration_at_ms ?? null,
    isTrialConversion: event.is_trial_conversion ?? false,
    cancelReason: event.cancel_reason ?? null,
    expirationReason: event.expiration_reason ?? null,
    priceUsd: event.price ?? null,
    priceInPurchasedCurrency: event.price_in_purchased_currency ?? null,
    currency: event.currency ?? null,
    taxPercentage: event.tax_percentage ?? null,
    commissionPercentage: event.commission_percentage ?? null,
    countryCode: event.country_code ?? null,
    transactionId: event.transaction_id ?? null,
    originalTransactionId: event.original_transaction_id ?? null,
    presentedOfferingId: event.presented_offering_id ?? null,
    renewalNumber: event.renewal_number ?? null,
    transferredFrom: event.transferred_from ?? [],
    transferredTo: event.transferred_to ?? [],
    attributes: flattenAttributes(event.subscriber_attributes),
    raw: event,
  };
}

function describeType(input: unknown): string {
  if (input === null) return 'null';
  return Array.isArray(input) ? 'array' : typeof input;
}

/** Short messages for webhook senders: `required`, `expected string, got number`; never the value itself. */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${issue.expected}, got ${describeType(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      return issue.origin === 'number' ? `must be at least ${issue.minimum}` : undefined;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return issue.origin === 'number' ? `must be at most ${issue.maximum}` : undefined;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`;
    default:
      return undefined; // zod's own message
  }
}

/** The webhook schema compiled once: every webhook passes through it, and zod words its refusals. */
export const revenueCatWebhookValidator = compileSchema(revenueCatWebhookSchema, { error: issueMessage });

function parse(body: unknown): ParseResult<SubscriptionEvent> {
  const tooDeep = nestingIssue(body);
  if (tooDeep !== undefined) return { ok: false, issues: [tooDeep] };
  const result = revenueCatWebhookValidator.check(body);
  if (!result.ok) return result;
  return { ok: true, value: toSubscriptionEvent(result.value) };
}

/** Parses a webhook body as text (as received, or as stored); invalid JSON is one issue at `(body)`. */
export function parseRevenueCatWebhookText(text: string): ParseResult<SubscriptionEvent> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, issues: [{ path: '(body)', message: 'invalid JSON' }] };
  }
  return parse(body);
}

/**
 * A stored webhook body back to its event. It passed `parseRevenueCatWebhookText` when it was received, so
 * only its JSON is read again, not the schema (most of a delivery's CPU otherwise); what the mapping needs
 * is still checked, and a body that lacks it throws.
 */
export function decodeStoredRevenueCatWebhook(text: string): SubscriptionEvent {
  const webhook = JSON.parse(text) as RevenueCatWebhook;
  const event = webhook?.event as Partial<RevenueCatEvent> | undefined;
  if (typeof event?.id !== 'string' || typeof event.type !== 'string' || typeof event.event_timestamp_ms !== 'number') {
    throw new Error('stored webhook has no event with an id, a type and an event_timestamp_ms');
  }
  return toSubscriptionEvent(webhook);
}

/** RevenueCat's webhooks as a source plugin: the runner's registry binds it to `TOKENS.SourcePlugin`. */
export const revenueCatSource: SourcePlugin<RevenueCatSettings> = {
  id: REVENUECAT_SOURCE_ID,
  displayName: 'RevenueCat',
  settings: revenueCatSettings,
  exampleSettings: { authorization: 'Bearer replace-with-a-long-random-token' },
  exampleWebhook: EXAMPLE_WEBHOOK,
  authenticates: (settings) => settings.authorization !== undefined,
  authenticator: ({ authorization }) => {
    if (authorization === undefined) return () => ({ ok: true });
    const matches = credentialCheck(authorization);
    return (headers) => {
      const presented = headers.authorization;
      return matches(typeof presented === 'string' ? presented : undefined)
        ? { ok: true }
        : { ok: false, reason: "the Authorization header does not match this source's settings.authorization" };
    };
  },
  parse,
  decodeStored: decodeStoredRevenueCatWebhook,
};
