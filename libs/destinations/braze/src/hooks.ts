import { attributeIgnoringCase, salesRevenue, standardEventHooks, type Identity, type Money, type SubscriptionEvent } from '@ferry/core';
import { capabilities } from './capabilities';
import { hasSandboxCredentials, type BrazeSettings } from './settings';

export const { filter, eventName } = standardEventHooks<BrazeSettings>('braze', capabilities, {
  hasSandboxCredentials,
  // Every Braze object needs an identifier.
  requiresUser: { identity, missing: 'the event has no app_user_id and no $brazeAliasName + $brazeAliasLabel attributes' },
});

/** Revenue in USD after the sales-reporting option, as RevenueCat reports it to Braze; a refund stays negative. */
export function revenue(event: SubscriptionEvent, settings: BrazeSettings): Money {
  return salesRevenue(event, settings.salesReporting, 'usd');
}

/**
 * RevenueCat's rule (reference/braze.md §2.4): with both `$brazeAliasName` and `$brazeAliasLabel` set (any letter
 * case, not empty), the user is that alias (`alias_name`, `alias_label`); otherwise `external_id` = app user id.
 */
export function identity(event: SubscriptionEvent): Identity {
  const aliasName = attributeIgnoringCase(event, '$brazeAliasName');
  const aliasLabel = attributeIgnoringCase(event, '$brazeAliasLabel');
  if (aliasName !== undefined && aliasLabel !== undefined) return { alias_name: aliasName, alias_label: aliasLabel };
  return event.appUserId ? { external_id: event.appUserId } : {};
}

/** The identifier fields of a Braze object for this identity. */
export function identifier(user: Identity): Record<string, unknown> {
  return user['external_id'] !== undefined
    ? { external_id: user['external_id'] }
    : { user_alias: { alias_name: user['alias_name'], alias_label: user['alias_label'] } };
}
