import { bodyRecords, type DeliveryRequest, type HttpResult } from '@ferry/core';
import { describeDestinationContract } from '@ferry/testkit';
import { clevertapPlugin } from './plugin';

const answer = (body: object): HttpResult => ({
  kind: 'response',
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const production = { accountId: 'CT-CONTRACT-PROD', passcode: 'ct-contract-passcode-0001' };

/** The status each delivery's profile record sets: `profileData.rc_subscription_status`. */
function carriedState(request: DeliveryRequest): Record<string, string> {
  const { d } = JSON.parse(request.body) as { d: { type: string; profileData?: { rc_subscription_status?: string } }[] };
  const records = bodyRecords(request);
  const carried: Record<string, string> = {};
  d.forEach((record, index) => {
    const status = record.type === 'profile' ? record.profileData?.rc_subscription_status : undefined;
    if (status !== undefined) carried[records[index].deliveryId] = status;
  });
  return carried;
}

describeDestinationContract(clevertapPlugin, {
  settings: production,
  sandboxSettings: { ...production, sandboxAccountId: 'CT-CONTRACT-SANDBOX', sandboxPasscode: 'ct-contract-sandbox-0002' },
  invalidSettings: [
    { settings: { region: 'eu2' }, paths: ['region'] },
    { settings: { endpoint: 'ftp://127.0.0.1:9999' }, paths: ['endpoint'] },
    { settings: { sandboxAccountId: 'CT-SANDBOX' }, paths: ['sandboxPasscode'] },
    { settings: { salesReporting: 'net', passcode: 7 }, paths: ['salesReporting', 'passcode'] },
    { settings: { eventNames: { renewal: '' } }, paths: ['eventNames.renewal'] },
    { settings: { accountID: 'typo' }, paths: ['(root)'] },
  ],
  responses: {
    accepted: (request) => answer({ status: 'success', processed: bodyRecords(request).length, unprocessed: [] }),
    // CleverTap's documented partial answer: the second delivery's event refused, named by its 1-based record number.
    partial: (request: DeliveryRequest) => {
      const number = bodyRecords(request).findIndex((r) => r.decides && r.deliveryId === request.deliveryIds[1]) + 1;
      return {
        result: answer({
          status: 'partial',
          processed: bodyRecords(request).length - 1,
          unprocessed: [
            {
              status: 'fail',
              code: 509,
              error: `Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. Skipped record number : ${number}`,
            },
          ],
        }),
        refused: [request.deliveryIds[1]],
      };
    },
  },
  // State goes in a profile record beside the event; with Charged records too, a delivery has up to three.
  subscriptionState: { settings: { profileSync: true, chargedEvent: true }, carried: carriedState },
  erasure: { identityAttributes: [{}, { $clevertapId: 'ct-guid' }] },
  connectionCheck: {
    accepted: answer({ status: 'success', record: { identity: 'ferry-connection-check' } }),
    refused: { kind: 'response', status: 401, headers: {}, body: '{"status":"fail","error":"Invalid Credentials","code":401}' },
  },
});
