import {
  UNKNOWN_EVENT_FIELDS,
  idBatches,
  parseJsonSafely,
  resolveEventName,
  sameOutcomeForAll,
  standardErasureAnswer,
  standardFailureOutcomes,
  standardFilter,
  subjectIds,
  subscriptionStatus,
  type Capabilities,
  type DeliveryRequest,
  type DestinationPlugin,
  type ErasureHooks,
  type Planned,
  type SubscriptionEvent,
} from '@ferry/core';
import { z } from 'zod';
import type { DestinationInstance } from '../instance';

const TestSettings = z.object({
  url: z.string(),
  apiKey: z.string(),
  /** Items per request within one account (the whole batch by default), to get several requests per key. */
  itemsPerRequest: z.number().int().positive().optional(),
});
export type TestSettings = z.infer<typeof TestSettings>;

const MAX_ATTRIBUTE_CHARS = 20;

/**
 * A small destination for engine tests. It puts its api key in the URL, a header and the body (so
 * redaction is tested everywhere), groups items by the `account` attribute (its concurrencyKey), and
 * reads 2xx answers `{"rejected": [deliveryId, …]}`; everything else by the standard failure rules. With
 * `subscriptionState`, each item carries `state` (core's subscriptionStatus) unless the engine says it may not.
 */
export function testPlugin(
  limits: { maxItems?: number; maxConcurrency?: number; subscriptionState?: boolean } = {},
): DestinationPlugin<TestSettings> {
  const capabilities: Capabilities = {
    batch: { maxItems: limits.maxItems ?? 100 },
    maxConcurrency: limits.maxConcurrency ?? 8,
    negativeRevenue: false,
    transfers: false,
    sandbox: 'drop',
    kinds: {
      initial_purchase: { defaultName: 'purchase', optional: false },
      renewal: { defaultName: 'renewal', optional: false },
    },
    subscriptionState: limits.subscriptionState,
  };
  const eventName = (event: SubscriptionEvent) => resolveEventName(capabilities, event.kind ?? 'renewal', undefined) ?? '';
  return {
    id: 'test',
    displayName: 'Test destination',
    settings: TestSettings,
    secrets: ['apiKey'],
    exampleSettings: { url: 'http://127.0.0.1:9', apiKey: 'example-key' },
    capabilities,
    filter: (event) =>
      standardFilter(capabilities, event, { eventNames: undefined }) ??
      (event.attributes['optOut'] === 'yes' ? { rule: 'opted_out', reason: 'the user opted out' } : undefined),
    eventName,
    revenue: (event) => ({ amount: Math.max(0, event.priceUsd ?? 0), currency: 'USD' }),
    identity: (event) => ({ user: event.appUserId ?? '' }),
    buildRequests: (batch, settings) => {
      const byAccount = new Map<string, Planned[]>();
      for (const item of batch) {
        const account = item.event.attributes['account'] ?? 'main';
        byAccount.set(account, [...(byAccount.get(account) ?? []), item]);
      }
      return [...byAccount].flatMap(([account, items]) =>
        chunk(items, settings.itemsPerRequest ?? items.length).map((part) => buildRequest(account, part, settings)),
      );
    },
    parseResponse: (request, result) => {
      if (result.kind !== 'response' || result.status < 200 || result.status >= 300) return standardFailureOutcomes(request, result);
      const answer = parseJsonSafely(result.body) as { rejected?: unknown } | undefined;
      const rejected = new Set(Array.isArray(answer?.rejected) ? answer.rejected : []);
      return request.deliveryIds.flatMap((deliveryId) =>
        rejected.has(deliveryId)
          ? sameOutcomeForAll(
              { ...request, deliveryIds: [deliveryId] },
              { type: 'rejected', code: 'bad_item', reason: 'the server refused this item', status: result.status },
            )
          : [{ deliveryId, type: 'delivered', status: result.status }],
      );
    },
    missingConfig: (settings) => (settings.apiKey === '' ? ['apiKey'] : []),
  };

  function buildRequest(account: string, items: readonly Planned[], settings: TestSettings): DeliveryRequest {
    const warnings: string[] = [];
    const body = items.map(({ deliveryId, event, carriesState }) => {
      const attributes = Object.fromEntries(
        Object.entries(event.attributes).filter(([key, value]) => {
          if (value.length <= MAX_ATTRIBUTE_CHARS) return true;
          warnings.push(`attribute "${key}" of ${deliveryId} left out: longer than ${MAX_ATTRIBUTE_CHARS} characters`);
          return false;
        }),
      );
      const state = capabilities.subscriptionState && carriesState !== false ? subscriptionStatus(event) : undefined;
      return { delivery: deliveryId, event: event.id, name: eventName(event), user: event.appUserId, attributes, state };
    });
    return {
      method: 'POST',
      url: `${settings.url}/track?account=${encodeURIComponent(account)}&key=${encodeURIComponent(settings.apiKey)}`,
      headers: { 'content-type': 'application/json', 'x-api-key': settings.apiKey },
      body: JSON.stringify({ auth: settings.apiKey, items: body }),
      deliveryIds: items.map((item) => item.deliveryId),
      concurrencyKey: `account:${account}`,
      ...(warnings.length > 0 && { warnings }),
    };
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) parts.push(items.slice(start, start + size));
  return parts;
}

/** Most ids one of the test destination's erase requests carries: a subject of more takes several requests. */
export const ERASE_IDS_PER_REQUEST = 2;

/**
 * Erasure hooks for the test destination: `POST {url}/delete` with `{"ids": […]}`, ERASE_IDS_PER_REQUEST ids a
 * request (the app user ids, then each identity's values), its api key in the URL, a header and the body (so
 * redaction is tested everywhere); answers read by the standard rules.
 */
export const testErasure: ErasureHooks<TestSettings> = {
  missingConfig: (settings) => (settings.apiKey === 'no-erasure' ? ['eraseKey'] : []),
  requests: (subject, settings) => {
    return idBatches(subjectIds(subject), ERASE_IDS_PER_REQUEST).map((part) => ({
      method: 'POST' as const,
      url: `${settings.url}/delete?key=${encodeURIComponent(settings.apiKey)}`,
      headers: { 'content-type': 'application/json', 'x-api-key': settings.apiKey },
      body: JSON.stringify({ auth: settings.apiKey, ids: part }),
    }));
  },
  readAnswer: (_request, result) => standardErasureAnswer(result),
};

export function testDestination(
  id: string,
  settings: TestSettings,
  options: { plugin?: DestinationPlugin<TestSettings>; concurrency?: number; timeoutMs?: number } = {},
): DestinationInstance {
  return {
    id,
    plugin: options.plugin ?? testPlugin(),
    settings,
    concurrency: options.concurrency ?? 4,
    timeoutMs: options.timeoutMs ?? 5_000,
  };
}

let sequence = 0;

/** A renewal event with sensible values; `overrides` change any field. */
export function makeEvent(overrides: Partial<SubscriptionEvent> = {}): SubscriptionEvent {
  sequence += 1;
  return {
    id: `evt-${sequence}`,
    source: 'revenuecat',
    type: 'RENEWAL',
    kind: 'renewal',
    environment: 'PRODUCTION',
    timestampMs: 1_700_000_000_000,
    appUserId: `user-${sequence}`,
    ...UNKNOWN_EVENT_FIELDS,
    appId: 'app',
    store: 'APP_STORE',
    periodType: 'NORMAL',
    productId: 'monthly',
    priceUsd: 9.99,
    priceInPurchasedCurrency: 9.99,
    currency: 'USD',
    countryCode: 'US',
    renewalNumber: 2,
    raw: {},
    ...overrides,
  };
}

/** The stored body for an event and the decoder the dispatcher gets: a JSON round trip. */
export const encodeEvent = (event: SubscriptionEvent): string => JSON.stringify(event);
export const decodeEvent = (body: string): SubscriptionEvent => JSON.parse(body) as SubscriptionEvent;
