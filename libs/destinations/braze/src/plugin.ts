import { secretSettingKeys, type DestinationPlugin } from '@ferry/core';
import { connectionCheck, erasure } from './account';
import { capabilities } from './capabilities';
import { eventName, filter, identity, revenue } from './hooks';
import { buildRequests } from './requests';
import { parseResponse } from './responses';
import { BrazeSettings, exampleSettings, missingConfig } from './settings';

/**
 * RevenueCat's Braze integration, reproduced (reference/braze.md §2; SPEC §14) over `/users/track`: per delivery an
 * attributes object (customer attributes, and the subscription state under the ordering guard) and one event or
 * purchase object, up to 75 objects a request.
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
  erasure,
  connectionCheck,
};
