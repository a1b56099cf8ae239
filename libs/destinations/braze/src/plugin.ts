import { secretSettingKeys, type DestinationPlugin } from '@ferry/core';
import { capabilities } from './capabilities';
import { eventName, filter, identity, revenue } from './hooks';
import { buildRequests } from './requests';
import { parseResponse } from './responses';
import { BrazeSettings, exampleSettings, missingConfig } from './settings';

/**
 * The Braze destination. The four hooks work from the capabilities and settings; building
 * requests and reading responses are stubs that say so until Braze's API is wired in
 * (docs/adding-a-destination.md walks through it with the CleverTap plugin as the example).
 */
export const brazePlugin: DestinationPlugin<BrazeSettings> = {
  id: 'braze',
  displayName: 'Braze',
  settings: BrazeSettings,
  secrets: secretSettingKeys(BrazeSettings),
  exampleSettings,
  capabilities,
  filter,
  eventName,
  revenue,
  identity,
  buildRequests,
  parseResponse,
  missingConfig,
};
