import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { startWebhookReceiver, verifyStandardWebhook, type WebhookReceiver } from './index';

// The test vector of the Standard Webhooks reference libraries (libraries/javascript/src/webhook.test.ts, "sign function works").
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SPEC_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const SPEC_TIMESTAMP = 1614265330;
const SPEC_BODY = '{"test": 2432232314}';
const SPEC_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const AT_SPEC_TIME = SPEC_TIMESTAMP * 1000;

const OTHER_SECRET = `whsec_${Buffer.from('another-receiver-secret-0123456789').toString('base64')}`;

function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

const specHeaders = (signature = SPEC_SIGNATURE) => ({
  'webhook-id': SPEC_ID,
  'webhook-timestamp': String(SPEC_TIMESTAMP),
  'webhook-signature': signature,
});

describe('verifyStandardWebhook', () => {
  it("accepts the specification's own test vector, headers in any case", () => {
    const upper = Object.fromEntries(Object.entries(specHeaders()).map(([name, value]) => [name.toUpperCase(), value]));
    for (const headers of [specHeaders(), upper]) {
      expect(verifyStandardWebhook({ headers, body: SPEC_BODY }, { secrets: [SPEC_SECRET], nowMs: AT_SPEC_TIME })).toEqual({
        ok: true,
        id: SPEC_ID,
        timestampSeconds: SPEC_TIMESTAMP,
        matchedSecrets: [0],
        signatures: 1,
      });
    }
  });

  it('refuses a changed body, id or timestamp, another secret, and a missing header', () => {
    const check = (body: string, headers: Record<string, string>, secrets = [SPEC_SECRET]) =>
      verifyStandardWebhook({ headers, body }, { secrets, nowMs: AT_SPEC_TIME });
    const refused = { ok: false, reason: 'no signature matches a trusted secret' };
    expect(check('{"test":2432232314}', specHeaders())).toEqual(refused); // re-serialised JSON is another body
    expect(check(SPEC_BODY, { ...specHeaders(), 'webhook-id': 'msg_other' })).toEqual(refused);
    expect(check(SPEC_BODY, { ...specHeaders(), 'webhook-timestamp': String(SPEC_TIMESTAMP + 1) })).toEqual(refused);
    expect(check(SPEC_BODY, specHeaders(), [OTHER_SECRET])).toEqual(refused);
    const { 'webhook-id': _id, ...withoutId } = specHeaders();
    expect(check(SPEC_BODY, withoutId)).toEqual({ ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' });
    expect(check(SPEC_BODY, { ...specHeaders(), 'webhook-timestamp': '16142653.5' })).toMatchObject({ ok: false });
  });

  it('refuses a timestamp outside the tolerance, either way', () => {
    const at = (nowMs: number, toleranceSeconds?: number) =>
      verifyStandardWebhook({ headers: specHeaders(), body: SPEC_BODY }, { secrets: [SPEC_SECRET], nowMs, toleranceSeconds }).ok;
    expect(at(AT_SPEC_TIME + 300_000)).toBe(true);
    expect(at(AT_SPEC_TIME + 301_000)).toBe(false);
    expect(at(AT_SPEC_TIME - 301_000)).toBe(false);
    expect(at(AT_SPEC_TIME + 10_000, 5)).toBe(false);
  });

  it('during a rotation, takes whichever signature of the list it trusts, and says which secrets matched', () => {
    const both = `${sign(OTHER_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)} v1a,c2lnbmF0dXJlIG9mIGFub3RoZXIgc2NoZW1l ${SPEC_SIGNATURE}`;
    const check = (secrets: string[]) =>
      verifyStandardWebhook({ headers: specHeaders(both), body: SPEC_BODY }, { secrets, nowMs: AT_SPEC_TIME });
    expect(check([OTHER_SECRET, SPEC_SECRET])).toMatchObject({ ok: true, matchedSecrets: [0, 1], signatures: 2 });
    expect(check([SPEC_SECRET])).toMatchObject({ ok: true, matchedSecrets: [0] });
  });
});

describe('startWebhookReceiver', () => {
  let receiver: WebhookReceiver;
  afterEach(() => receiver.close());
  const post = (headers: Record<string, string>, body = SPEC_BODY) =>
    request(`${receiver.url}/hooks?x=1`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('records each request with its verdict, answers the scripted statuses, then the default; a forged request gets 401', async () => {
    receiver = await startWebhookReceiver({ secrets: [SPEC_SECRET], now: () => AT_SPEC_TIME });
    receiver.answerNext(500, 410);
    const statuses: number[] = [];
    for (const headers of [
      specHeaders(),
      specHeaders(),
      specHeaders(),
      specHeaders(sign(OTHER_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)),
    ]) {
      const answer = await post(headers);
      await answer.body.dump();
      statuses.push(answer.statusCode);
    }
    receiver.answerByDefault(503);
    statuses.push((await post(specHeaders())).statusCode);
    expect(statuses).toEqual([500, 410, 204, 401, 503]);
    const received = receiver.received();
    expect(received.map((r) => [r.path, r.status, r.verification.ok])).toEqual([
      ['/hooks?x=1', 500, true],
      ['/hooks?x=1', 410, true],
      ['/hooks?x=1', 204, true],
      ['/hooks?x=1', 401, false],
      ['/hooks?x=1', 503, true],
    ]);
    expect(received[0]).toMatchObject({ body: SPEC_BODY, headers: expect.objectContaining({ 'webhook-id': SPEC_ID }) });
  });

  it('is scripted and read over its control API, which never shows a secret', async () => {
    receiver = await startWebhookReceiver({ secrets: [SPEC_SECRET], now: () => AT_SPEC_TIME });
    const control = (path: string, body?: unknown) =>
      request(`${receiver.url}/_fake/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    expect((await control('faults', [{ status: 429 }])).statusCode).toBe(200);
    const refused = await control('faults', { status: 'gone' });
    expect([refused.statusCode, await refused.body.json()]).toEqual([
      400,
      expect.objectContaining({ issues: [expect.objectContaining({ path: 'status' })] }),
    ]);
    expect((await post(specHeaders())).statusCode).toBe(429);
    const listed = await (await control('requests')).body.text();
    expect(JSON.parse(listed)).toEqual([expect.objectContaining({ status: 429, body: SPEC_BODY })]);
    expect(listed).not.toContain(SPEC_SECRET);
  });
});
