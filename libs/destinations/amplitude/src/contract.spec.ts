import type { DeliveryRequest, HttpResult } from '@ferry/core';
import { describeDestinationContract } from '@ferry/testkit';
import { amplitudePlugin } from './plugin';

const production = { apiKey: 'amp-contract-api-key-0001', secretKey: 'amp-contract-secret-key-0003' };

/** The status each event sets: `user_properties.rc_subscription_status`; events are in `deliveryIds` order. */
function carriedState(request: DeliveryRequest): Record<string, string> {
  const { events } = JSON.parse(request.body) as { events: { user_properties?: { rc_subscription_status?: string } }[] };
  const carried: Record<string, string> = {};
  events.forEach((event, index) => {
    const status = event.user_properties?.rc_subscription_status;
    if (status !== undefined) carried[request.deliveryIds[index]] = status;
  });
  return carried;
}

describeDestinationContract(amplitudePlugin, {
  settings: production,
  sandboxSettings: { ...production, sandboxApiKey: 'amp-contract-sandbox-key-0002' },
  invalidSettings: [
    { settings: { region: 'eu1' }, paths: ['region'] },
    { settings: { endpoint: 'ftp://127.0.0.1:9998' }, paths: ['endpoint'] },
    { settings: { endpoint: 'http://user:pass@127.0.0.1:9998' }, paths: ['endpoint'] },
    { settings: { salesReporting: 'net', apiKey: 7 }, paths: ['salesReporting', 'apiKey'] },
    { settings: { eventNames: { renewal: '' } }, paths: ['eventNames.renewal'] },
    { settings: { eventNames: { transfer: 'rc_transfer_event' }, region: 'mars' }, paths: ['eventNames.transfer', 'region'] },
    { settings: { api_key: 'typo' }, paths: ['(root)'] },
  ],
  responses: {
    accepted: (request): HttpResult => ({
      kind: 'response',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        code: 200,
        events_ingested: request.deliveryIds.length,
        payload_size_bytes: Buffer.byteLength(request.body),
        server_upload_time: 1_750_000_000_000,
      }),
    }),
    // Amplitude's documented 400 naming the second event's bad field. It takes a request whole or not at all
    // (reference/amplitude.md §0, §1.4): the events it does not name were not ingested and go again.
    partial: (request) => ({
      result: {
        kind: 'response',
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: 400, error: 'Invalid field values on some events', events_with_invalid_fields: { time: [1] } }),
      },
      refused: [request.deliveryIds[1]],
      others: 'retry',
    }),
  },
  // Amplitude always sends state when the guard allows; no setting turns it on.
  subscriptionState: { carried: carriedState },
  erasure: {
    identityAttributes: [
      {},
      { $amplitudeUserId: 'amp-user' },
      { $amplitudeDeviceId: 'amp-device' },
      { $amplitudeUserId: 'u', $amplitudeDeviceId: 'd' },
    ],
    notErased: { device_id: "Amplitude's user privacy API takes user ids and Amplitude ids, no device ids" },
  },
  connectionCheck: {
    accepted: { kind: 'response', status: 200, headers: { 'content-type': 'application/json' }, body: '[]' },
    refused: { kind: 'response', status: 401, headers: {}, body: '{"error":"Invalid API key or secret key"}' },
  },
});
