import { z } from 'zod';
import {
  attributeIgnoringCase,
  idBatches,
  sameOutcomeForAll,
  standardErasureAnswer,
  standardFailureOutcomes,
  standardFilter,
  subjectIds,
  TOKENS,
  type Capabilities,
  type DestinationPlugin,
  type Identity,
} from '@ferry/core';
import type { ServiceContainer } from '../service-container';

const capabilities: Capabilities = {
  batch: { maxItems: 50 },
  maxConcurrency: 4,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'forward',
  kinds: { renewal: { defaultName: 'renewal', optional: false }, initial_purchase: { defaultName: 'purchase', optional: false } },
};

/** Most ids one erase request carries, so a customer with a few ids takes several requests. */
export const ERASE_IDS_PER_REQUEST = 3;

type Settings = { url: string; apiKey: string; eraseKey?: string };

/**
 * A destination for the erasure tests, until the real plugins have their hooks: it delivers to `{url}/track`
 * and keys a profile by the `$clevertapId` attribute (`objectId`), else the app user id (`identity`), as CleverTap
 * does; it erases with `POST {url}/delete` carrying ERASE_IDS_PER_REQUEST ids a request, its `eraseKey` in a
 * header (a destination without one cannot erase: `missingConfig`).
 */
export const erasingPlugin: DestinationPlugin<Settings> = {
  id: 'erasing-test',
  displayName: 'Erasing (test)',
  settings: z.object({ url: z.string(), apiKey: z.string(), eraseKey: z.string().optional() }),
  secrets: ['apiKey', 'eraseKey'],
  exampleSettings: { url: 'http://127.0.0.1:9', apiKey: 'example-api-key' },
  capabilities,
  filter: (event) => standardFilter(capabilities, event, { eventNames: undefined }),
  eventName: (event) => event.kind ?? '',
  revenue: () => ({ amount: 0, currency: 'USD' }),
  identity: (event): Identity => {
    const objectId = attributeIgnoringCase(event, '$clevertapId');
    return objectId ? { objectId } : { identity: event.appUserId ?? '' };
  },
  buildRequests: (batch, settings) => [
    {
      method: 'POST',
      url: `${settings.url}/track`,
      headers: { 'content-type': 'application/json', 'x-api-key': settings.apiKey },
      body: JSON.stringify(batch.map((planned) => ({ event: planned.event.id }))),
      deliveryIds: batch.map((planned) => planned.deliveryId),
      concurrencyKey: 'erasing',
    },
  ],
  parseResponse: (request, result) =>
    result.kind === 'response' && result.status < 300
      ? sameOutcomeForAll(request, { type: 'delivered', status: result.status })
      : standardFailureOutcomes(request, result),
  erasure: {
    missingConfig: (settings) => (settings.eraseKey ? [] : ['eraseKey']),
    requests: (subject, settings) => {
      return idBatches(subjectIds(subject), ERASE_IDS_PER_REQUEST).map((part) => ({
        method: 'POST' as const,
        url: `${settings.url}/delete`,
        headers: { 'content-type': 'application/json', 'x-erase-key': settings.eraseKey ?? '' },
        body: JSON.stringify({ ids: part }),
      }));
    },
    readAnswer: (_request, result) => standardErasureAnswer(result),
  },
};

/** The same destination without the erasure hook: its plugin cannot erase. */
export const plainPlugin: DestinationPlugin<Settings> = { ...erasingPlugin, id: 'plain-test', erasure: undefined };

/** Registers both beside the real plugins (pass as `configure`, or call from it). */
export function registerErasurePlugins(services: ServiceContainer): void {
  services.bindValue(TOKENS.DestinationPlugin, erasingPlugin);
  services.bindValue(TOKENS.DestinationPlugin, plainPlugin);
}
