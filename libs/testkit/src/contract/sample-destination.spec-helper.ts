import {
  bodyRecords,
  idBatches,
  standardCheckVerdict,
  standardErasureAnswer,
  byEnvironment,
  checkEventNameOverrides,
  jsonArrayBodies,
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
  subscriptionStatus,
  type Capabilities,
  type DeliveryRequest,
  type DestinationPlugin,
  type HttpResult,
  type Identity,
  type Planned,
} from '@ferry/core';
import { z } from 'zod';
import type { DestinationContractOptions, PartialResponse } from './options';

/**
 * A small, complete destination that keeps the whole contract: the kit's own specs run it through every
 * suite, and break one rule at a time to see each check catch it. Its answer to a batch is
 * `{"rejected": [{"index": n, "reason": "…"}]}` (0-based record indexes). With `stateRecords`, each event
 * with a subscription status is followed by a state record, as CleverTap's profile record follows its event.
 */
export const sampleCapabilities: Capabilities = {
  batch: { maxItems: 5, maxBytes: 20_000 },
  maxConcurrency: 2,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'separate-credentials',
  subscriptionState: true,
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
    stateRecords: z.boolean().default(false),
  })
  .strict()
  .superRefine((settings, ctx) => checkEventNameOverrides(sampleCapabilities, settings.eventNames, ctx));
export type SampleSettings = z.infer<typeof sampleSettings>;

export const samplePlugin: DestinationPlugin<SampleSettings> = {
  id: 'sample',
  displayName: 'Sample',
  settings: sampleSettings,
  secrets: secretSettingKeys(sampleSettings),
  exampleSettings: { apiKey: 'YOUR_SAMPLE_API_KEY', endpoint: 'https://sample.invalid', salesReporting: 'gross', stateRecords: false },
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

  buildRequests: (batch, settings) => buildSampleRequests(batch, settings),

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
  // Only state records carry the subscription state.
  sendsState: (settings) => settings.stateRecords,

  // Deletes users three at a time: small, so the kit's customer needs several requests.
  erasure: {
    maxIdsPerRequest: 3,
    requests: (subject, settings) =>
      idBatches([...subject.appUserIds, ...subject.identities.map((identity) => identity.user_id ?? '')], 3).map((user_ids) => ({
        method: 'POST',
        url: `${settings.endpoint}/users/delete`,
        headers: { authorization: `Bearer ${settings.apiKey ?? ''}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_ids }),
      })),
    readAnswer: (_request, result) => standardErasureAnswer(result),
  },
  connectionCheck: {
    request: (settings) => ({
      method: 'GET',
      url: `${settings.endpoint}/me`,
      headers: { authorization: `Bearer ${settings.apiKey ?? ''}` },
    }),
    readAnswer: (result) => standardCheckVerdict(result),
  },
};

/**
 * The sample's requests. `countRecords: false` is a bug kept for the kit's own specs: it fills requests by
 * deliveries, so with state records a request holds more records than `maxItems`.
 */
export function buildSampleRequests(batch: readonly Planned[], settings: SampleSettings, { countRecords = true } = {}): DeliveryRequest[] {
  return byEnvironment(batch).flatMap(([environment, planned]) => {
    const apiKey = environment === 'SANDBOX' ? settings.sandboxApiKey : settings.apiKey;
    const items = planned.map((p) => {
      const records = sampleRecords(p, settings);
      return {
        deliveryId: p.deliveryId,
        parts: records.map(({ part }) => part),
        json: records.map(({ record }) => JSON.stringify(record)).join(','),
        ...(countRecords && { records: records.length }),
      };
    });
    return jsonArrayBodies(items, sampleCapabilities.batch, { head: '{"events":', tail: '}' }).map(
      ({ items: carried, body }): DeliveryRequest => ({
        method: 'POST',
        url: `${settings.endpoint}/events`,
        headers: { authorization: `Bearer ${apiKey ?? ''}`, 'content-type': 'application/json' },
        body,
        deliveryIds: carried.map((item) => item.deliveryId),
        ...(settings.stateRecords && {
          records: carried.flatMap(({ deliveryId, parts }) =>
            parts.map((part) => ({ deliveryId, part, decides: part === 'event', ...(part === 'state' && { carriesState: true }) })),
          ),
        }),
        concurrencyKey: `sample:${environment.toLowerCase()}`,
      }),
    );
  });
}

function sampleRecords({ event, carriesState }: Planned, settings: SampleSettings) {
  const user = samplePlugin.identity(event, settings);
  const records: { part: 'event' | 'state'; record: object }[] = [
    {
      part: 'event',
      record: {
        name: samplePlugin.eventName(event, settings),
        user,
        revenue: samplePlugin.revenue(event, settings),
        time: event.timestampMs,
        properties: event.attributes,
      },
    },
  ];
  const status = carriesState === false ? undefined : subscriptionStatus(event);
  if (settings.stateRecords && status !== undefined)
    records.push({ part: 'state', record: { user, state: status, time: event.timestampMs } });
  return records;
}

/** The status each delivery of a sample request carries: its state record's. */
export function sampleCarriedState(request: DeliveryRequest): Record<string, string> {
  const { events } = JSON.parse(request.body) as { events: { state?: string }[] };
  const records = bodyRecords(request);
  return Object.fromEntries(
    events.flatMap((record, index) => (record.state === undefined ? [] : [[records[index].deliveryId, record.state] as const])),
  );
}

/** The sample's answer refusing the second delivery of `request`, named by the index of its event record. */
function refusingSecond(request: DeliveryRequest, status: number): HttpResult {
  const index = bodyRecords(request).findIndex((record) => record.decides && record.deliveryId === request.deliveryIds[1]);
  return { kind: 'response', status, headers: {}, body: JSON.stringify({ rejected: [{ index, reason: 'bad record' }] }) };
}

/**
 * The sample's answer refusing the second delivery's event and, when the first delivery has a state record,
 * that record: the first delivery is then noted (taken, its state not).
 */
export function refusingSecondAndFirstState(request: DeliveryRequest): PartialResponse {
  const records = bodyRecords(request);
  const event = records.findIndex((record) => record.decides && record.deliveryId === request.deliveryIds[1]);
  const state = records.findIndex((record) => !record.decides && record.deliveryId === request.deliveryIds[0]);
  const rejected = [event, state].filter((index) => index !== -1).map((index) => ({ index, reason: 'bad record' }));
  return {
    result: { kind: 'response', status: 200, headers: {}, body: JSON.stringify({ rejected }) },
    refused: [request.deliveryIds[1]],
    ...(state !== -1 && { noted: [request.deliveryIds[0]] }),
  };
}

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
    partial: (request) => ({ result: refusingSecond(request, 200), refused: [request.deliveryIds[1]] }),
  },
  subscriptionState: { settings: { stateRecords: true }, carried: sampleCarriedState },
  erasure: { identityAttributes: [{}] },
  connectionCheck: {
    accepted: { kind: 'response', status: 200, headers: {}, body: '{"me":"sample"}' },
    refused: { kind: 'response', status: 401, headers: {}, body: '{"error":"unknown key"}' },
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
    partial: (request) => ({ result: refusingSecond(request, 400), refused: [request.deliveryIds[1]], others: 'retry' }),
  },
};
