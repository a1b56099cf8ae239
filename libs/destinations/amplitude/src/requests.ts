import { byEnvironment, isSet, jsonArrayBodies, urlUnder, type DeliveryRequest, type Environment, type Planned } from '@ferry/core';
import { capabilities } from './capabilities';
import { buildEvent } from './event';
import type { AmplitudeRegion, AmplitudeSettings } from './settings';

const HOSTS: Readonly<Record<AmplitudeRegion, string>> = {
  us: 'https://api2.amplitude.com',
  eu: 'https://api.eu.amplitude.com',
};

// App user ids may be shorter than Amplitude's default minimum of 5 characters; RevenueCat sends them as they are.
const OPTIONS = { min_id_length: 1 };

/** The HTTP V2 endpoint: the real-time one, as RevenueCat delivers each event when it happens. */
export function httpApiUrl(settings: AmplitudeSettings): string {
  return urlUnder(settings.endpoint ?? HOSTS[settings.region], '/2/httpapi');
}

/** Production goes to the main project, sandbox to the sandbox project; never one for the other. */
function apiKeyFor(environment: Environment, settings: AmplitudeSettings): string {
  const apiKey = environment === 'SANDBOX' ? settings.sandboxApiKey : settings.apiKey;
  // filter() and missingConfig() keep such deliveries away from here; reaching this is a caller bug, not bad input.
  if (!isSet(apiKey))
    throw new Error(`amplitude: no ${environment === 'SANDBOX' ? 'sandbox ' : ''}API key to send ${environment} events with`);
  return apiKey;
}

/** HTTP V2 requests for a batch: one project per request, ≤ 2000 events and ≤ 1 MB each, in batch order. */
export function buildRequests(batch: readonly Planned[], settings: AmplitudeSettings): DeliveryRequest[] {
  const url = httpApiUrl(settings);
  return byEnvironment(batch).flatMap(([environment, planned]) => {
    const items = planned.map((p) => ({ deliveryId: p.deliveryId, json: JSON.stringify(buildEvent(p, settings)) }));
    const envelope = {
      head: `{"api_key":${JSON.stringify(apiKeyFor(environment, settings))},"events":`,
      tail: `,"options":${JSON.stringify(OPTIONS)}}`,
    };
    return jsonArrayBodies(items, capabilities.batch, envelope).map(({ items: carried, body }): DeliveryRequest => ({
      method: 'POST',
      url,
      headers: { 'Content-Type': 'application/json' },
      body,
      deliveryIds: carried.map((item) => item.deliveryId),
      concurrencyKey: `amplitude:${environment.toLowerCase()}`,
    }));
  });
}
