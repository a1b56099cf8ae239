import { salesRevenue, standardEventHooks, type Identity, type Money, type SubscriptionEvent } from '@ferry/core';
import { capabilities } from './capabilities';
import type { WebhookSettings } from './settings';

// The shared rules (transfers, types no kind covers, eventNames), then `no_user` when there is no app user id.
export const { filter, eventName } = standardEventHooks<WebhookSettings>('webhook', capabilities, {
  requiresUser: { identity, missing: 'the event has no app_user_id' },
});

/** Revenue after the sales-reporting option, in the purchase currency (USD when it has none); a refund is negative. */
export function revenue(event: SubscriptionEvent, settings: WebhookSettings): Money {
  return salesRevenue(event, settings.salesReporting);
}

/** The user the event is about: its app user id, as `data.appUserId` carries it. */
export function identity(event: SubscriptionEvent): Identity {
  return event.appUserId ? { appUserId: event.appUserId } : {};
}
