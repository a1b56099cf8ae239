import type { DeliveryRequest, Planned, RequestContext } from '@ferry/core';
import { ferryEventOf } from './ferry-event';
import { eventName, revenue } from './hooks';
import { signatureOf, webhookIdOf } from './signature';
import { signingSecrets, type WebhookSettings } from './settings';

/** All requests to one endpoint share its concurrency cap (the engine keeps one per destination). */
const CONCURRENCY_KEY = 'webhook';

/** The body of one delivery: Ferry's event, or the webhook as the source received it. */
function bodyOf(planned: Planned, settings: WebhookSettings): string {
  if (settings.format === 'revenuecat') {
    // The dispatcher and previews always give it; only a caller that has no stored webhook gets here.
    if (planned.webhookBody === undefined)
      throw new Error('webhook: format "revenuecat" sends the stored webhook body, and none was given');
    return planned.webhookBody;
  }
  const { event } = planned;
  return JSON.stringify(ferryEventOf(event, eventName(event, settings), revenue(event, settings), settings.salesReporting));
}

/**
 * One signed `POST` per delivery (SPEC §16): `webhook-id` from the delivery, `webhook-timestamp` the time of sending,
 * `webhook-signature` one `v1,` signature per secret in force (two during a rotation), space-separated.
 */
export function buildRequests(batch: readonly Planned[], settings: WebhookSettings, context?: RequestContext): DeliveryRequest[] {
  // Pure: the time of sending comes from the caller (the engine's clock, a preview's, the kit's fixed one).
  if (context === undefined) throw new Error('webhook: buildRequests needs the time of sending (context.nowMs) to sign');
  const timestamp = Math.floor(context.nowMs / 1000);
  const secrets = signingSecrets(settings, context.nowMs);
  return batch.map((planned): DeliveryRequest => {
    const body = bodyOf(planned, settings);
    const id = webhookIdOf(planned.deliveryId);
    return {
      method: 'POST',
      url: settings.url,
      headers: {
        ...settings.headers,
        'Content-Type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': secrets.map((secret) => signatureOf(secret, id, timestamp, body)).join(' '),
      },
      body,
      deliveryIds: [planned.deliveryId],
      concurrencyKey: CONCURRENCY_KEY,
    };
  });
}
