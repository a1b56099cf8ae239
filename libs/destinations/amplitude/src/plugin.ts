import { secretSettingKeys, type DestinationPlugin } from '@ferry/core';
import { connectionCheck, erasure } from './account';
import { capabilities } from './capabilities';
import { eventName, filter, identity, revenue } from './hooks';
import { buildRequests } from './requests';
import { parseResponse } from './responses';
import { AmplitudeSettings, exampleSettings, missingConfig } from './settings';

/** RevenueCat's Amplitude integration, reproduced (reference/amplitude.md §2) over Amplitude's HTTP V2 API. */
export const amplitudePlugin: DestinationPlugin<AmplitudeSettings> = {
  id: 'amplitude',
  displayName: 'Amplitude',
  settings: AmplitudeSettings,
  secrets: secretSettingKeys(AmplitudeSettings),
  exampleSettings,
  capabilities,
  filter,
  eventName,
  revenue,
  identity,
  buildRequests,
  parseResponse,
  missingConfig,
  erasure,
  connectionCheck,
};
