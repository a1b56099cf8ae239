import { EVENT_KINDS, type Capabilities, type KindSupport } from '@ferry/core';

/** The `type` of each kind in a `ferry` body: `subscription.<kind>` (SPEC §16), renamed by `eventNames`. */
export function defaultTypeOf(kind: string): string {
  return `subscription.${kind}`;
}

/**
 * What a webhook endpoint takes: one event per request (SPEC §16), every kind RevenueCat's webhooks map to. No kind
 * can be switched off by name: a route's `filter.kinds` is the one way to choose what an endpoint gets (SPEC §13).
 */
export const capabilities: Capabilities = {
  batch: { maxItems: 1 },
  // The engine's cap per endpoint is the destination's `concurrency`; this is only its ceiling.
  maxConcurrency: 50,
  // Your own service wants the truth: a refund is negative.
  negativeRevenue: true,
  transfers: false,
  // Sandbox events go like any other, with `environment` saying which; a route can keep them out.
  sandbox: 'forward',
  kinds: Object.fromEntries(
    EVENT_KINDS.map((kind): [string, KindSupport] => [kind, { defaultName: defaultTypeOf(kind), optional: false }]),
  ),
  summary: {
    revenue: 'purchase currency, 3 sales-reporting modes (format `ferry`)',
    attributes: 'all, as `data.attributes` (format `ferry`); `revenuecat` sends the webhook verbatim',
    identity: '`data.appUserId` = app user id; signed per Standard Webhooks, `webhook-id` stable across retries and replays',
  },
};
