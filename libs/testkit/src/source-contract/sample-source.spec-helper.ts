import {
  MIN_SECRET_LENGTH,
  UNKNOWN_EVENT_FIELDS,
  credentialCheck,
  issuesFromZod,
  secret,
  type SourcePlugin,
  type SubscriptionEvent,
} from '@ferry/core';
import { z } from 'zod';

/**
 * A small source that keeps the whole contract and shares nothing with RevenueCat's shape: its credential
 * is required and travels in its own header, and its body nests the event. The kit's own specs run it
 * through every suite, and break one rule at a time to see each check catch it.
 */
export const sampleSourceSettings = z.strictObject({
  webhookToken: secret(z.string().min(MIN_SECRET_LENGTH)).describe('The token the sender puts in X-Sample-Token.'),
});
export type SampleSourceSettings = z.output<typeof sampleSourceSettings>;

const id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:-]+$/, { error: 'letters, digits and . _ : - only' });
const sampleNotification = z.object({
  notification: z.object({
    uuid: id,
    kind: z.enum(['SUBSCRIBED', 'RENEWED', 'EXPIRED', 'TEST']),
    sandbox: z.boolean().optional(),
    signedAt: z.iso.datetime(),
    subject: z.object({ account: id.nullable() }),
  }),
});
type SampleNotification = z.output<typeof sampleNotification>;

const KINDS = { SUBSCRIBED: 'initial_purchase', RENEWED: 'renewal', EXPIRED: 'expiration', TEST: null } as const;

function toEvent({ notification }: SampleNotification): SubscriptionEvent {
  return {
    id: notification.uuid,
    source: 'sample-source',
    type: notification.kind,
    kind: KINDS[notification.kind],
    environment: notification.sandbox ? 'SANDBOX' : 'PRODUCTION',
    timestampMs: Date.parse(notification.signedAt),
    appUserId: notification.subject.account,
    ...UNKNOWN_EVENT_FIELDS,
    raw: notification,
  };
}

export const sampleSource: SourcePlugin<SampleSourceSettings> = {
  id: 'sample-source',
  displayName: 'Sample Source',
  settings: sampleSourceSettings,
  exampleSettings: { webhookToken: 'sample-token-replace-me' },
  exampleWebhook: {
    notification: { uuid: 'n-0001', kind: 'SUBSCRIBED', signedAt: '2026-01-02T03:04:05.000Z', subject: { account: 'acct-1' } },
  },
  authenticates: () => true,
  authenticator: ({ webhookToken }) => {
    const matches = credentialCheck(webhookToken);
    return (headers) => {
      const presented = headers['x-sample-token'];
      return matches(typeof presented === 'string' ? presented : undefined)
        ? { ok: true }
        : { ok: false, reason: 'X-Sample-Token does not match settings.webhookToken' };
    };
  },
  parse(body) {
    const result = sampleNotification.safeParse(body, { error: (issue) => (issue.input === undefined ? 'required' : undefined) });
    return result.success ? { ok: true, value: toEvent(result.data) } : { ok: false, issues: issuesFromZod(result.error.issues) };
  },
  decodeStored: (body) => toEvent(sampleNotification.parse(JSON.parse(body))),
};

export const sampleSourceHeaders = (settings: SampleSourceSettings) => ({ 'x-sample-token': settings.webhookToken });
