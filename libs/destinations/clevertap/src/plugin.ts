import { secretSettingKeys, type DestinationPlugin } from '@ferry/core';
import { connectionCheck, erasure } from './account';
import { capabilities } from './capabilities';
import { eventName, filter, identity, revenue } from './hooks';
import { buildRequests } from './requests';
import { parseResponse } from './responses';
import { CleverTapSettings, exampleSettings, missingConfig } from './settings';

/** RevenueCat's CleverTap integration, reproduced (SPEC §4). */
export const clevertapPlugin: DestinationPlugin<CleverTapSettings> = {
  id: 'clevertap',
  displayName: 'CleverTap',
  settings: CleverTapSettings,
  secrets: secretSettingKeys(CleverTapSettings),
  exampleSettings,
  capabilities,
  filter,
  eventName,
  revenue,
  identity,
  buildRequests,
  parseResponse,
  missingConfig,
  // Only profile records carry the subscription state.
  sendsState: (settings) => settings.profileSync,
  erasure,
  connectionCheck,
};
