import { attributeIgnoringCase, salesRevenue, standardEventHooks, type Identity, type Money, type SubscriptionEvent } from '@ferry/core';
import { capabilities } from './capabilities';
import { hasSandboxCredentials, type CleverTapSettings } from './settings';

export const { filter, eventName } = standardEventHooks<CleverTapSettings>('clevertap', capabilities, {
  hasSandboxCredentials,
  // CleverTap rejects a record without a user key (code 523).
  requiresUser: { identity, missing: 'the event has neither an app_user_id nor a $clevertapId attribute' },
});

/** Revenue in the purchase currency after the sales-reporting option; CleverTap takes no negative revenue, so a refund is 0. */
export function revenue(event: SubscriptionEvent, settings: CleverTapSettings): Money {
  const { amount, currency } = salesRevenue(event, settings.salesReporting);
  return { amount: Math.max(0, amount), currency };
}

/** The CleverTap id (`$clevertapId` in any letter case) is CleverTap's `objectId`; otherwise the app user id is its `identity`. */
export function identity(event: SubscriptionEvent): Identity {
  const cleverTapId = attributeIgnoringCase(event, '$clevertapId');
  if (cleverTapId !== undefined) return { objectId: cleverTapId };
  return event.appUserId ? { identity: event.appUserId } : {};
}
