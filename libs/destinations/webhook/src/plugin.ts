import { secretSettingKeys, type DestinationPlugin } from '@ferry/core';
import { capabilities } from './capabilities';
import { FerryEvent } from './ferry-event';
import { eventName, filter, identity, revenue } from './hooks';
import { buildRequests } from './requests';
import { parseResponse } from './responses';
import { exampleSettings, missingConfig, WebhookSettings } from './settings';

/**
 * Signed fan-out to your own services (SPEC §16): each destination is one endpoint, sent one event per request,
 * signed per the Standard Webhooks specification, as Ferry's normalised event or the RevenueCat webhook verbatim.
 */
export const webhookPlugin: DestinationPlugin<WebhookSettings> = {
  id: 'webhook',
  displayName: 'Webhook',
  settings: WebhookSettings,
  secrets: secretSettingKeys(WebhookSettings),
  exampleSettings,
  capabilities,
  filter,
  eventName,
  revenue,
  identity,
  buildRequests,
  parseResponse,
  missingConfig,
  schemas: { 'ferry-event': FerryEvent },
};
