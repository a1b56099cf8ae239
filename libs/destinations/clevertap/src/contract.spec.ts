import type { DeliveryRequest, HttpResult } from '@ferry/core';
import { describeDestinationContract } from '@ferry/testkit';
import { clevertapPlugin } from './plugin';

const answer = (body: object): HttpResult => ({
  kind: 'response',
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const production = { accountId: 'CT-CONTRACT-PROD', passcode: 'ct-contract-passcode-0001' };

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
    accepted: (request) => answer({ status: 'success', processed: request.deliveryIds.length, unprocessed: [] }),
    // CleverTap's documented partial answer: the second record refused, named by its 1-based number.
    partial: (request: DeliveryRequest) => ({
      result: answer({
        status: 'partial',
        processed: request.deliveryIds.length - 1,
        unprocessed: [
          {
            status: 'fail',
            code: 509,
            error: 'Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. Skipped record number : 2',
          },
        ],
      }),
      refused: [request.deliveryIds[1]],
    }),
  },
});
