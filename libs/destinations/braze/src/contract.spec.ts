import { bodyRecords, type DeliveryRequest, type HttpResult } from '@ferry/core';
import { describeDestinationContract } from '@ferry/testkit';
import { brazePlugin } from './plugin';

const production = { instance: 'US-03', apiKey: 'braze-contract-api-key-0001' };

const answer = (body: object, status = 201): HttpResult => ({
  kind: 'response',
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Where the `n`-th record of a request sits in Braze's terms: its array and its index there. */
function place(request: DeliveryRequest, n: number): { input_array: string; index: number } {
  const records = bodyRecords(request);
  const part = records[n].part;
  return { input_array: part, index: records.slice(0, n).filter((record) => record.part === part).length };
}

/** The status each delivery's attributes object sets: `rc_subscription_status`. */
function carriedState(request: DeliveryRequest): Record<string, string> {
  const { attributes = [] } = JSON.parse(request.body) as { attributes?: { rc_subscription_status?: string }[] };
  const owners = bodyRecords(request).filter((record) => record.part === 'attributes');
  const carried: Record<string, string> = {};
  attributes.forEach((object, index) => {
    if (object.rc_subscription_status !== undefined) carried[owners[index].deliveryId] = object.rc_subscription_status;
  });
  return carried;
}

describeDestinationContract(brazePlugin, {
  settings: production,
  sandboxSettings: { ...production, sandboxApiKey: 'braze-contract-sandbox-key-0002' },
  invalidSettings: [
    { settings: { instance: 'US-11' }, paths: ['instance'] },
    { settings: { instance: undefined, restEndpoint: 'ftp://127.0.0.1:9998' }, paths: ['restEndpoint'] },
    { settings: { restEndpoint: 'https://rest.iad-03.braze.com' }, paths: ['instance'] },
    { settings: { salesReporting: 'net', apiKey: 7 }, paths: ['salesReporting', 'apiKey'] },
    { settings: { purchases: 'yes' }, paths: ['purchases'] },
    { settings: { eventNames: { subscription_paused: null } }, paths: ['eventNames.subscription_paused'] },
    { settings: { eventNames: { transfer: 'rc_transfer_event' }, instance: 'mars' }, paths: ['eventNames.transfer', 'instance'] },
    { settings: { api_key: 'typo' }, paths: ['(root)'] },
  ],
  responses: {
    accepted: (request) => answer({ message: 'success', events_processed: request.deliveryIds.length }),
    // Braze's documented partial answer: a 2xx naming objects by array and index. The second delivery's event or
    // purchase is refused; the first delivery's attributes object too, which only notes it (its event landed).
    partial: (request) => {
      const records = bodyRecords(request);
      const refusedAt = records.findIndex((record) => record.decides && record.deliveryId === request.deliveryIds[1]);
      const notedAt = records.findIndex((record) => !record.decides && record.deliveryId === request.deliveryIds[0]);
      const errors = [refusedAt, notedAt].filter((n) => n !== -1).map((n) => ({ type: "'time' is not valid", ...place(request, n) }));
      return {
        result: answer({ message: 'success', errors }),
        refused: [request.deliveryIds[1]],
        ...(notedAt !== -1 && { noted: [request.deliveryIds[0]] }),
      };
    },
  },
  // Braze always sends state when the guard allows; no setting turns it on.
  subscriptionState: { carried: carriedState },
  erasure: { identityAttributes: [{}, { $brazeAliasName: 'alias', $brazeAliasLabel: 'label' }] },
  connectionCheck: {
    accepted: { kind: 'response', status: 200, headers: {}, body: '{"message":"success","events":["rc_renewal_event"]}' },
    refused: { kind: 'response', status: 401, headers: {}, body: '{"message":"Invalid API Key"}' },
  },
});
