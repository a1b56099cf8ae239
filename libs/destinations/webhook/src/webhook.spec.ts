import { fixtureEvent, verifyStandardWebhook, webhookBody } from '@ferry/testkit';
import type { DeliveryRequest, HttpResult, Planned } from '@ferry/core';
import { webhookPlugin } from './plugin';
import { signatureOf, webhookIdOf } from './signature';
import { WebhookSettings } from './settings';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const NEW_SECRET = `whsec_${base64('webhook-spec-new-secret-0001-abcd')}`;
const OLD_SECRET = `whsec_${base64('webhook-spec-old-secret-0002-wxyz')}`;
const ROTATION_ENDS = Date.UTC(2026, 11, 1);

const settingsOf = (extra: Record<string, unknown> = {}) =>
  WebhookSettings.parse({ url: 'https://hooks.example.com/ferry', secret: NEW_SECRET, ...extra });
const rotating = settingsOf({ previousSecret: OLD_SECRET, rotationEndsAt: new Date(ROTATION_ENDS).toISOString() });
const renewal: Planned = { deliveryId: '0193a0c4-5b6e-7f00-8a1b-2c3d4e5f6a7b', event: fixtureEvent('renewal') };
const build = (settings: WebhookSettings, nowMs: number, planned: Planned = renewal) =>
  webhookPlugin.buildRequests([planned], settings, { nowMs })[0];

describe('signing (Standard Webhooks)', () => {
  it("signs the specification's test vector exactly", () => {
    // libraries/javascript/src/webhook.test.ts, "sign function works" (reference.md §4).
    expect(signatureOf('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('stamps the time of sending in seconds, and a receiver checking the timestamp accepts it then, not 6 minutes later', () => {
    const nowMs = Date.UTC(2026, 5, 1, 8, 30, 15, 900);
    const request = build(settingsOf(), nowMs);
    expect(request.headers['webhook-timestamp']).toBe(String(Math.floor(nowMs / 1000)));
    expect(verifyStandardWebhook(request, { secrets: [NEW_SECRET], nowMs }).ok).toBe(true);
    expect(verifyStandardWebhook(request, { secrets: [NEW_SECRET], nowMs: nowMs + 6 * 60_000 }).ok).toBe(false);
  });

  it('keeps webhook-id the same for every attempt of a delivery, whenever it is built, and apart for other deliveries', () => {
    const ids = [0, 60_000, 86_400_000].map((later) => build(settingsOf(), ROTATION_ENDS + later).headers['webhook-id']);
    expect(ids).toEqual([`msg_${renewal.deliveryId}`, `msg_${renewal.deliveryId}`, `msg_${renewal.deliveryId}`]);
    expect(build(settingsOf(), ROTATION_ENDS, { ...renewal, deliveryId: 'another-delivery' }).headers['webhook-id']).toBe(
      'msg_another-delivery',
    );
    // An id that could break the signed content's `id.timestamp.body` framing is hashed into a safe one.
    const hashed = webhookIdOf('odd.id with spaces');
    expect(hashed).toMatch(/^msg_[A-Za-z0-9_-]{43}$/);
    expect(webhookIdOf('odd.id with spaces')).toBe(hashed);
    expect(webhookIdOf('odd.id with spaces!')).not.toBe(hashed);
  });

  it('during a rotation sends both signatures, new first, so receivers on either secret accept; afterwards only the new', () => {
    const during = build(rotating, ROTATION_ENDS - 1);
    expect(during.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);
    for (const secrets of [[NEW_SECRET], [OLD_SECRET]])
      expect(verifyStandardWebhook(during, { secrets, nowMs: ROTATION_ENDS - 1 })).toMatchObject({ ok: true, signatures: 2 });
    const after = build(rotating, ROTATION_ENDS);
    expect(after.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(verifyStandardWebhook(after, { secrets: [NEW_SECRET], nowMs: ROTATION_ENDS }).ok).toBe(true);
    expect(verifyStandardWebhook(after, { secrets: [OLD_SECRET], nowMs: ROTATION_ENDS }).ok).toBe(false);
  });

  it('sends the static headers beside its own', () => {
    const request = build(settingsOf({ headers: { Authorization: 'Bearer gateway-token-5c1e9a' } }), ROTATION_ENDS);
    expect(Object.keys(request.headers)).toEqual(['Authorization', 'Content-Type', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);
    expect(request.headers['Authorization']).toBe('Bearer gateway-token-5c1e9a');
  });

  it('needs the time of sending: without it, it refuses rather than sign with a made-up time', () => {
    expect(() => webhookPlugin.buildRequests([renewal], settingsOf())).toThrow('needs the time of sending');
  });
});

describe('format "revenuecat"', () => {
  it('sends the stored webhook byte for byte, signed as it is', () => {
    // As received, indented: re-serialising would change the bytes, and the receiver's signature check would fail.
    const stored = JSON.stringify(JSON.parse(webhookBody('renewal')), null, 2);
    const request = build(settingsOf({ format: 'revenuecat' }), ROTATION_ENDS, { ...renewal, webhookBody: stored });
    expect(request.body).toBe(stored);
    expect(verifyStandardWebhook(request, { secrets: [NEW_SECRET], nowMs: ROTATION_ENDS }).ok).toBe(true);
  });

  it('refuses to make one up when it has no stored body', () => {
    expect(() => build(settingsOf({ format: 'revenuecat' }), ROTATION_ENDS)).toThrow('format "revenuecat" sends the stored webhook body');
  });
});

describe('settings', () => {
  it('names the field of a bad secret, never its value', () => {
    const result = WebhookSettings.safeParse({ url: 'https://hooks.example.com', secret: 'whsec_c2hvcnQtc2VjcmV0LXZhbHVl' });
    expect(result.success).toBe(false);
    const text = JSON.stringify(result.error?.issues);
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['secret', expect.stringContaining('must hold 24 to 64 random bytes after whsec_, not 18')],
    ]);
    expect(text).not.toContain('c2hvcnQtc2VjcmV0LXZhbHVl');
  });

  it('an endpoint without a secret yet waits as paused', () => {
    expect(webhookPlugin.missingConfig!(WebhookSettings.parse({ url: 'https://hooks.example.com' }))).toEqual([
      'settings.secret is not set',
    ]);
  });
});

describe('answers', () => {
  const request: DeliveryRequest = build(settingsOf(), ROTATION_ENDS);
  const answer = (status: number, headers: Record<string, string> = {}): HttpResult => ({
    kind: 'response',
    status,
    headers,
    body: 'nope',
  });
  const outcome = (result: HttpResult) => webhookPlugin.parseResponse(request, result, settingsOf())[0];

  it('2xx is delivered', () => {
    for (const status of [200, 201, 202, 204]) expect(outcome(answer(status)).type).toBe('delivered');
  });

  it('401, 403 and 410 pause the destination: the receiver asked to stop', () => {
    for (const status of [401, 403, 410])
      expect(outcome(answer(status))).toEqual({
        deliveryId: renewal.deliveryId,
        type: 'auth_failed',
        status,
        reason: `HTTP ${status}: the receiver asked to stop: nope`,
      });
  });

  it('everything else is retried until the delivery limits, honouring Retry-After', () => {
    for (const status of [301, 400, 404, 409, 422, 429, 500, 502, 503]) expect(outcome(answer(status)).type).toBe('retry');
    expect(outcome(answer(503, { 'Retry-After': '30' }))).toMatchObject({ type: 'retry', retryAfterMs: 30_000 });
    expect(outcome({ kind: 'timeout', message: 'no answer within 10000 ms' }).type).toBe('retry');
    expect(outcome({ kind: 'network', message: 'connect ECONNREFUSED' }).type).toBe('retry');
  });
});
