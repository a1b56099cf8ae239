import {
  attributeIgnoringCase,
  resolveEventName,
  salesRevenue,
  standardFilter,
  type Identity,
  type Money,
  type Skip,
  type SubscriptionEvent,
} from '@ferry/core';
import { capabilities } from './capabilities';
import { hasSandboxCredentials, type CleverTapSettings } from './settings';

export function filter(event: SubscriptionEvent, settings: CleverTapSettings): Skip | undefined {
  const skip = standardFilter(capabilities, event, {
    eventNames: settings.eventNames,
    hasSandboxCredentials: hasSandboxCredentials(settings),
  });
  if (skip) return skip;
  // CleverTap rejects a record without a user key (code 523); better to say so here than to send it.
  if (Object.keys(identity(event)).length === 0) {
    return { rule: 'no_user', reason: 'the event has neither an app_user_id nor a $clevertapId attribute' };
  }
  return undefined;
}

export function eventName(event: SubscriptionEvent, settings: CleverTapSettings): string {
  const name = event.kind === null ? undefined : resolveEventName(capabilities, event.kind, settings.eventNames);
  if (name === undefined) throw new Error(`clevertap: no event name for ${event.kind ?? event.type}; filter() skips such events`);
  return name;
}

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
