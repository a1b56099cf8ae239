import { byEnvironment, isSet, jsonArraysBodies, type DeliveryRequest, type Environment, type Planned } from '@ferry/core';
import { capabilities } from './capabilities';
import { buildObjects } from './objects';
import { trackUrl, type BrazeSettings } from './settings';

/** The arrays of a `/users/track` body, in the order Braze processes them: attributes first, so an alias exists before its event. */
export const ARRAYS = ['attributes', 'events', 'purchases'] as const;
export type BrazeArray = (typeof ARRAYS)[number];

/** Production goes to the main workspace, sandbox to the sandbox workspace; never one for the other. */
function apiKeyFor(environment: Environment, settings: BrazeSettings): string {
  const apiKey = environment === 'SANDBOX' ? settings.sandboxApiKey : settings.apiKey;
  // filter() and missingConfig() keep such deliveries away from here; reaching this is a caller bug, not bad input.
  if (!isSet(apiKey)) throw new Error(`braze: no ${environment === 'SANDBOX' ? 'sandbox ' : ''}API key to send ${environment} events with`);
  return apiKey;
}

/**
 * `/users/track` requests for a batch: one workspace per request, at most 75 objects of every kind together, in
 * batch order; a delivery's objects (its attributes and its event or purchase) always share a request. Every
 * object is a body record: the event or purchase decides the delivery, the attributes object only adds a note
 * (and tells whether Braze took the subscription state).
 */
export function buildRequests(batch: readonly Planned[], settings: BrazeSettings): DeliveryRequest[] {
  const url = trackUrl(settings);
  return byEnvironment(batch).flatMap(([environment, planned]) => {
    const items = planned.map((p) => {
      const objects = buildObjects(p, settings);
      const arrays: Partial<Record<BrazeArray, string[]>> = {
        ...(objects.attributes && { attributes: [JSON.stringify(objects.attributes)] }),
        ...(objects.event && { events: [JSON.stringify(objects.event)] }),
        ...(objects.purchase && { purchases: [JSON.stringify(objects.purchase)] }),
      };
      return { deliveryId: p.deliveryId, arrays, carriesState: objects.carriesState, warnings: objects.warnings };
    });
    const apiKey = apiKeyFor(environment, settings);
    return jsonArraysBodies(items, capabilities.batch, ARRAYS).map(({ items: carried, body, records }): DeliveryRequest => {
      const warnings = carried.flatMap((item) => item.warnings);
      return {
        method: 'POST',
        url,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
        body,
        deliveryIds: carried.map((item) => item.deliveryId),
        records: records.map(({ item, array }) => ({
          deliveryId: item.deliveryId,
          part: array,
          decides: array !== 'attributes',
          ...(array === 'attributes' && item.carriesState && { carriesState: true }),
        })),
        concurrencyKey: `braze:${environment.toLowerCase()}`,
        ...(warnings.length > 0 && { warnings }),
      };
    });
  });
}
