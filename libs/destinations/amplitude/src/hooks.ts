import { attributeIgnoringCase, salesRevenue, standardEventHooks, type Identity, type Money, type SubscriptionEvent } from '@ferry/core';
import { capabilities } from './capabilities';
import { hasSandboxCredentials, type AmplitudeSettings } from './settings';

export const { filter, eventName } = standardEventHooks<AmplitudeSettings>('amplitude', capabilities, {
  hasSandboxCredentials,
  // Amplitude refuses an event with neither user_id nor device_id.
  requiresUser: { identity, missing: 'the event has no app_user_id and no $amplitudeUserId or $amplitudeDeviceId attribute' },
});

/** Revenue in USD after the sales-reporting option, as RevenueCat reports it to Amplitude; a refund stays negative. */
export function revenue(event: SubscriptionEvent, settings: AmplitudeSettings): Money {
  return salesRevenue(event, settings.salesReporting, 'usd');
}

/**
 * RevenueCat's rule: the `$amplitudeUserId` and `$amplitudeDeviceId` attributes (any letter case, when not
 * empty) become `user_id` and `device_id`, each only when set; with neither, `user_id` is the app user id.
 */
export function identity(event: SubscriptionEvent): Identity {
  const userId = attributeIgnoringCase(event, '$amplitudeUserId');
  const deviceId = attributeIgnoringCase(event, '$amplitudeDeviceId');
  if (userId === undefined && deviceId === undefined) return event.appUserId ? { user_id: event.appUserId } : {};
  return { ...(userId !== undefined && { user_id: userId }), ...(deviceId !== undefined && { device_id: deviceId }) };
}
