import {
  checkEventNameOverrides,
  EventNameOverrides,
  parseJsonSafely,
  resolveEventName,
  salesRevenue,
  SalesReporting,
  outcomesByIndex,
  sameOutcomeForAll,
  secret,
  secretSettingKeys,
  standardFailureOutcomes,
  standardFilter,
  type Capabilities,
  type DeliveryRequest,
  type DestinationPlugin,
  type HttpResult,
  type Identity,
  type Planned,
} from '@ferry/core';
import { z } from 'zod';
import type { DestinationContractOptions } from './options';

/**
 * A small, complete destination that keeps the whole contract: the kit's own specs run it through every
 * suite, and break one rule at a time to see each check catch it. Its answer to a batch is
 * `{"rejected": [{"index": n, "reason": "…"}]}` (0-based record indexes).
 */
export const sampleCapabilities: Capabilities = {
  batch: { maxItems: 5, maxBytes: 20_000 },
  maxConcurrency: 2,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'separate-credentials',
  kinds: {
    initial_purchase: { defaultName: 'purchase', optional: false },
    trial_started: { defaultName: 'trial_started', optional: false },
    trial_converted: { defaultName: 'trial_converted', optional: false },
    trial_cancelled: { defaultName: 'trial_cancelled', optional: false },
    renewal: { defaultName: 'renewal', optional: false },
    cancellation: { defaultName: 'cancellation', optional: false },
    uncancellation: { defaultName: 'uncancellation', optional: false },
    non_subscription_purchase: { defaultName: 'one_time_purchase', optional: false },
    expiration: { defaultName: 'expiration', optional: true },
    billing_issue: { defaultName: 'billing_issue', optional: true },
    product_change: { defaultName: 'product_change', optional: true },
  },
};

export const sampleSettings = z
  .object({
    apiKey: secret(z.string().min(1)).optional(),
    sandboxApiKey: secret(z.string().min(1)).optional(),
    endpoint: z.url({ protocol: /^https?$/ }).default('https://sample.invalid'),
    eventNames: EventNameOverrides,
    salesReporting: SalesReporting.default('gross'),
  })
  .strict()
  .superRefine((settings, ctx) => checkEventNameOverrides(sampleCapabilities, settings.eventNames, ctx));
export type SampleSettings = z.infer<typeof sampleSettings>;

export const samplePlugin: DestinationPlugin<SampleSettings> = {
  id: 'sample',
  displayName: 'Sample',
  settings: sampleSettings,
  secrets: secretSettingKeys(sampleSettings),
  exampleSettings: { apiKey: 'YOUR_SAMPLE_API_KEY', endpoint: 'https://sample.invalid', salesReporting: 'gross' },
  capabilities: sampleCapabilities,

  filter: (event, settings) =>
    standardFilter(sampleCapabilities, event, {
      eventNames: settings.eventNames,
      hasSandboxCredentials: settings.sandboxApiKey !== undefined,
    }),

  eventName: (event, settings) => (event.kind && resolveEventName(sampleCapabilities, event.kind, settings.eventNames)) || 'unnamed',

  revenue(event, settings) {
    const money = salesRevenue(event, settings.salesReporting);
    return money.amount < 0 ? { ...money, amount: 0 } : money;
  },

  identity: (event): Identity => (event.appUserId ? { user_id: event.appUserId } : {}),

  buildRequests(batch, settings) {
    const requests: DeliveryRequest[] = [];
    for (const environment of ['PRODUCTION', 'SANDBOX'] as const) {
      const items = batch.filter((p) => p.event.environment === environment);
      const apiKey = environment === 'SANDBOX' ? settings.sandboxApiKey : settings.apiKey;
      let chunk: { planned: Planned; record: string }[] = [];
      const flush = () => {
        if (chunk.length === 0) return;
        requests.push({
          method: 'POST',
          url: `${settings.endpoint}/events`,
          headers: { authorization: `Bearer ${apiKey ?? ''}`, 'content-type': 'application/json' },
          body: `{"events":[${chunk.map((c) => c.record).join(',')}]}`,
          deliveryIds: chunk.map((c) => c.planned.deliveryId),
          concurrencyKey: `sample:${environment.toLowerCase()}`,
        });
        chunk = [];
      };
      for (const planned of items) {
        const record = JSON.stringify(sampleRecord(planned, settings));
        const size = (records: string[]) => Buffer.byteLength(`{"events":[${records.join(',')}]}`);
        if (chunk.length === sampleCapabilities.batch.maxItems || size([...chunk.map((c) => c.record), record]) > 20_000) flush();
        chunk.push({ planned, record });
      }
      flush();
    }
    return requests;
  },

  parseResponse(request, result: HttpResult) {
    if (result.kind !== 'response' || result.status < 200 || result.status >= 300) return standardFailureOutcomes(request, result, 0);
    const body = parseJsonSafely(result.body) as { rejected?: { index: number; reason: string }[] } | undefined;
    if (!body || !Array.isArray(body.rejected)) {
      // The records may not have landed: sending again is safer than losing them.
      return sameOutcomeForAll(request, { type: 'retry', status: result.status, reason: 'unreadable success answer' });
    }
    const rejected = new Map(body.rejected.map((r) => [r.index, r.reason]));
    return outcomesByIndex(request, (index) => {
      const reason = rejected.get(index);
      return reason === undefined
        ? { type: 'delivered', status: result.status }
        : { type: 'rejected', code: 'sample_rejected', reason, status: result.status };
    });
  },

  missingConfig: (settings) => (settings.apiKey ? [] : ['settings.apiKey is not set']),
};

function sampleRecord({ event }: Planned, settings: SampleSettings) {
  return {
    name: samplePlugin.eventName(event, settings),
    user: samplePlugin.identity(event, settings),
    revenue: samplePlugin.revenue(event, settings),
    time: event.timestampMs,
    properties: event.attributes,
  };
}

const REFUSING_SECOND = '{"rejected":[{"index":1,"reason":"bad record"}]}';
const accepted = (): HttpResult => ({ kind: 'response', status: 200, headers: {}, body: '{"rejected":[]}' });

/** Kit options that make the sample pass every suite. */
export const sampleOptions: DestinationContractOptions = {
  settings: { apiKey: 'sample-production-key-0001' },
  sandboxSettings: { apiKey: 'sample-production-key-0001', sandboxApiKey: 'sample-sandbox-key-0002' },
  invalidSettings: [
    { settings: { endpoint: 'ftp://sample.invalid' }, paths: ['endpoint'] },
    { settings: { salesReporting: 'net', unknownSetting: 1 }, paths: ['salesReporting', '(root)'] },
    { settings: { eventNames: { renewal: null } }, paths: ['eventNames.renewal'] },
  ],
  responses: {
    accepted,
    partial: (request) => ({
      result: { kind: 'response', status: 200, headers: {}, body: REFUSING_SECOND },
      refused: [request.deliveryIds[1]],
    }),
  },
};

/**
 * The sample as a destination that takes a request whole or not at all: its 400 names the bad records and
 * ingests none, so the records it does not name go again at once.
 */
export const wholeOrNothingPlugin: DestinationPlugin<SampleSettings> = {
  ...samplePlugin,
  id: 'whole-or-nothing',
  parseResponse(request, result, settings) {
    if (result.kind !== 'response' || result.status !== 400) return samplePlugin.parseResponse(request, result, settings);
    const body = parseJsonSafely(result.body) as { rejected?: { index: number; reason: string }[] } | undefined;
    const rejected = new Map((Array.isArray(body?.rejected) ? body.rejected : []).map((r) => [r.index, r.reason]));
    if (rejected.size === 0) return standardFailureOutcomes(request, result, 0);
    return outcomesByIndex(request, (index) => {
      const reason = rejected.get(index);
      return reason === undefined
        ? { type: 'retry', status: 400, retryAfterMs: 0, reason: 'not ingested: other records of the request were refused' }
        : { type: 'rejected', status: 400, code: 'sample_rejected', reason };
    });
  },
};

/** Kit options that make the whole-or-nothing sample pass every suite. */
export const wholeOrNothingOptions: DestinationContractOptions = {
  ...sampleOptions,
  responses: {
    accepted,
    partial: (request) => ({
      result: { kind: 'response', status: 400, headers: {}, body: REFUSING_SECOND },
      refused: [request.deliveryIds[1]],
      others: 'retry',
    }),
  },
};
