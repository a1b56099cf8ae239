import { describeDestinationContract } from '@ferry/testkit';
import { webhookPlugin } from './plugin';

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** Secrets of the Standard Webhooks shape, each distinctive so the kit can look for it everywhere. */
const SECRET = `whsec_${base64('webhook-contract-secret-0001-abcdef')}`;
const PREVIOUS_SECRET = `whsec_${base64('webhook-contract-previous-0002-xyz')}`;

describeDestinationContract(webhookPlugin, {
  settings: {
    url: 'https://hooks.example.com/ferry?tenant=contract',
    secret: SECRET,
    // A rotation still in its overlap at the kit's time: every request carries both signatures.
    previousSecret: PREVIOUS_SECRET,
    rotationEndsAt: '2099-01-01T00:00:00Z',
    headers: { Authorization: 'Bearer webhook-contract-gateway-token-0003' },
  },
  invalidSettings: [
    { settings: { url: 'ftp://hooks.example.com/ferry' }, paths: ['url'] },
    { settings: { url: 'https://user:pass@hooks.example.com/ferry' }, paths: ['url'] },
    { settings: { url: undefined }, paths: ['url'] },
    { settings: { secret: 'not-a-standard-webhooks-secret' }, paths: ['secret'] },
    { settings: { secret: `whsec_${base64('only-sixteen-byte')}` }, paths: ['secret'] },
    { settings: { secret: 'whsec_!!!!not~base64!!!!' }, paths: ['secret'] },
    { settings: { previousSecret: undefined }, paths: ['previousSecret'] },
    { settings: { rotationEndsAt: undefined }, paths: ['rotationEndsAt'] },
    { settings: { rotationEndsAt: 'next tuesday' }, paths: ['rotationEndsAt'] },
    { settings: { previousSecret: SECRET }, paths: ['previousSecret'] },
    {
      settings: { headers: { 'webhook-id': 'a-fixed-id-0004', 'Bad Name': 'gateway-token-0005', 'X-Tenant': 'line\nbreak-0006' } },
      paths: ['headers.webhook-id', 'headers.Bad Name', 'headers.X-Tenant'],
    },
    { settings: { headers: { 'Content-Type': 'text/plain-0007' } }, paths: ['headers.Content-Type'] },
    { settings: { format: 'xml' }, paths: ['format'] },
    { settings: { eventNames: { renewal: null }, salesReporting: 'net' }, paths: ['eventNames.renewal', 'salesReporting'] },
    { settings: { Url: 'https://misspelt.example.com' }, paths: ['(root)'] },
  ],
  responses: {
    accepted: () => ({ kind: 'response', status: 204, headers: {}, body: '' }),
  },
  skip: {
    'partial-responses': 'one event per request (batch.maxItems 1): no answer refuses part of a request',
  },
});
