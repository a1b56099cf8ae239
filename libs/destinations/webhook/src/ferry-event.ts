import { EVENT_KINDS, SalesReporting, SUBSCRIPTION_STATUSES, subscriptionStatus, type Money, type SubscriptionEvent } from '@ferry/core';
import { z } from 'zod';

/**
 * The body of `format: "ferry"` (SPEC §16), in the Standard Webhooks payload structure (reference.md §2): `type`,
 * `timestamp`, `data`. This schema is the one the plugin builds bodies by (`FerryEvent` is their type), the one its
 * tests check every body against, and the JSON Schema the runner serves at `GET /schemas/ferry-event.json`.
 */

const isoTime = () => z.iso.datetime().describe('ISO 8601, UTC, with milliseconds (`2025-03-01T10:00:02.000Z`).');

export const FerryEventData = z
  .object({
    id: z.string().describe("The event's id at its source (RevenueCat's `event.id`); the same for every endpoint."),
    source: z.string().describe('The id of the Ferry source it came through (`revenuecat`, or a configured source id).'),
    kind: z.enum(EVENT_KINDS).describe("What happened, in RevenueCat's integration vocabulary."),
    sourceType: z.string().describe("The source's own event type, verbatim (RevenueCat's `type`, e.g. `INITIAL_PURCHASE`)."),
    appUserId: z.string().describe('The app user id the event is about.'),
    originalAppUserId: z.string().nullable(),
    aliases: z.array(z.string()).describe("The user's other app user ids."),
    appId: z.string().nullable(),
    environment: z.enum(['PRODUCTION', 'SANDBOX']),
    store: z.string().nullable().describe('`APP_STORE`, `PLAY_STORE`, `STRIPE`, `PROMOTIONAL`, …'),
    productId: z.string().nullable(),
    newProductId: z.string().nullable().describe('On a product change: the product the user changes to.'),
    periodType: z.string().nullable().describe('`NORMAL`, `TRIAL`, `INTRO`, `PROMOTIONAL`, `PREPAID`.'),
    revenue: z
      .object({
        amount: z.number().describe('Negative for a refund. Rounded to the minor unit of the currency.'),
        currency: z.string().describe('ISO 4217: the purchase currency, or USD when the webhook has none.'),
        salesReporting: SalesReporting.describe("The endpoint's `salesReporting` setting: what the amount is net of."),
      })
      .describe('The revenue after the sales-reporting setting; 0 for events that carry no price.'),
    subscriptionStatus: z
      .enum(SUBSCRIPTION_STATUSES)
      .nullable()
      .describe(
        "The status this event leaves the subscription in (RevenueCat's `rc_subscription_status` vocabulary); null for events that set none. Events can arrive out of order: compare `timestamp`.",
      ),
    entitlementIds: z.array(z.string()),
    purchasedAt: isoTime().nullable(),
    expiresAt: isoTime().nullable().describe('When the subscription expires (or expired); null when the event has no expiration.'),
    cancelReason: z.string().nullable().describe('On cancellations: `UNSUBSCRIBE`, `BILLING_ERROR`, `CUSTOMER_SUPPORT` (refunds), …'),
    expirationReason: z.string().nullable(),
    attributes: z.record(z.string(), z.string()).describe('Customer (subscriber) attributes, value only; reserved keys keep their `$`.'),
  })
  .describe('The normalised event.');

export const FerryEvent = z
  .object({
    type: z.string().describe('`subscription.<kind>` (e.g. `subscription.renewal`), unless the endpoint renames the kind in `eventNames`.'),
    timestamp: isoTime().describe('When the event happened (not when it was sent: see the `webhook-timestamp` header).'),
    data: FerryEventData,
  })
  .meta({
    title: 'Ferry subscription event',
    description:
      'The body Ferry\'s webhook destination sends with `format: "ferry"`, one event per request, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).',
  });
export type FerryEvent = z.output<typeof FerryEvent>;

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The `ferry` body of an event the filter let through, with its name (`type`) and revenue as the plugin's hooks
 * give them. The event's own subscription status at its time: no ordering guard runs for this destination.
 */
export function ferryEventOf(event: SubscriptionEvent, type: string, revenue: Money, salesReporting: SalesReporting): FerryEvent {
  if (event.kind === null || event.appUserId === null) throw new Error('webhook: filter() skips events without a kind or a user');
  return {
    type,
    timestamp: new Date(event.timestampMs).toISOString(),
    data: {
      id: event.id,
      source: event.source,
      kind: event.kind,
      sourceType: event.type,
      appUserId: event.appUserId,
      originalAppUserId: event.originalAppUserId,
      aliases: [...event.aliases],
      appId: event.appId,
      environment: event.environment,
      store: event.store,
      productId: event.productId,
      newProductId: event.newProductId,
      periodType: event.periodType,
      revenue: { amount: revenue.amount, currency: revenue.currency, salesReporting },
      subscriptionStatus: subscriptionStatus(event) ?? null,
      entitlementIds: [...event.entitlementIds],
      purchasedAt: isoOrNull(event.purchasedAtMs),
      expiresAt: isoOrNull(event.expirationAtMs),
      cancelReason: event.cancelReason,
      expirationReason: event.expirationReason,
      attributes: { ...event.attributes },
    },
  };
}
