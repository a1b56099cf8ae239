import { salesRevenue, standardEventHooks, type Identity, type Money, type SubscriptionEvent } from '@ferry/core';
import { capabilities } from './capabilities';
import type { BrazeSettings } from './settings';

// The shared rules (transfers, kinds, eventNames, sandbox), then `no_user` when identity() finds no user key.
export const { filter, eventName } = standardEventHooks<BrazeSettings>('braze', capabilities, {
  requiresUser: { identity, missing: 'the event has no app_user_id' },
});

/** Revenue after the sales-reporting option; a refund is sent as 0 unless the capabilities allow negative revenue. */
export function revenue(event: SubscriptionEvent, settings: BrazeSettings): Money {
  const money = salesRevenue(event, settings.salesReporting);
  return capabilities.negativeRevenue ? money : { ...money, amount: Math.max(0, money.amount) };
}

/** The user key: the app user id as `user_id`. Change it to the fields Braze identifies users by. */
export function identity(event: SubscriptionEvent): Identity {
  return event.appUserId ? { user_id: event.appUserId } : {};
}
