import type { HttpResult, Planned } from '@ferry/core';
import { fixtureEvent } from '@ferry/testkit';
import { brazePlugin as plugin } from './plugin';
import { brazeRetryAfterMs } from './responses';
import { BrazeSettings } from './settings';

const settings = BrazeSettings.parse({ instance: 'EU-01', apiKey: 'braze-responses-key-0001' });
// a: attributes[0] + purchases[0]; b: attributes[1] + events[0]; c: attributes[2] + purchases[1]
const batch: Planned[] = [
  { deliveryId: 'a', event: fixtureEvent('initial_purchase') },
  { deliveryId: 'b', event: fixtureEvent('cancellation') },
  { deliveryId: 'c', event: fixtureEvent('renewal') },
];
const [request] = plugin.buildRequests(batch, settings);
const reply = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  kind: 'response',
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const parse = (result: HttpResult) => plugin.parseResponse(request, result, settings);

it('one request carries the three deliveries as six objects, attributes first', () => {
  expect(request.records?.map((r) => `${r.deliveryId}:${r.part}`)).toEqual([
    'a:attributes',
    'b:attributes',
    'c:attributes',
    'b:events',
    'a:purchases',
    'c:purchases',
  ]);
});

describe('a 2xx', () => {
  it('with errors naming an event and a purchase by array and index rejects exactly those deliveries', () => {
    const outcomes = parse(
      reply(201, {
        message: 'success',
        errors: [
          { type: "'time' is not valid", input_array: 'purchases', index: 1 },
          { type: "'name' is required", input_array: 'events', index: 0 },
        ],
      }),
    );
    expect(outcomes).toEqual([
      { deliveryId: 'a', type: 'delivered', status: 201, stateAccepted: true },
      {
        deliveryId: 'b',
        type: 'rejected',
        status: 201,
        code: 'braze_invalid_object',
        reason: "Braze refused events[0]: 'name' is required",
        stateAccepted: true,
      },
      {
        deliveryId: 'c',
        type: 'rejected',
        status: 201,
        code: 'braze_invalid_object',
        reason: "Braze refused purchases[1]: 'time' is not valid",
        stateAccepted: true,
      },
    ]);
  });

  it('naming an attributes object delivers its delivery with a note, its state not taken', () => {
    const [a, b] = parse(reply(200, { message: 'success', errors: [{ type: 'invalid attribute', input_array: 'attributes', index: 1 }] }));
    expect(a).toEqual({ deliveryId: 'a', type: 'delivered', status: 200, stateAccepted: true });
    expect(b).toEqual({
      deliveryId: 'b',
      type: 'delivered',
      status: 200,
      note: 'attributes record not taken: braze_invalid_object: Braze refused attributes[1]: invalid attribute',
      stateAccepted: false,
    });
  });

  it('with errors naming nothing of the request (bare strings, an index out of range) delivers all, each with a note', () => {
    const outcomes = parse(reply(201, { message: 'success', errors: ['minor problem', { type: 'x', input_array: 'events', index: 9 }] }));
    expect(outcomes.map((o) => o.type)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(outcomes[0]).toMatchObject({ note: expect.stringContaining('minor problem') });
  });

  it('queued (maintenance) counts as taken; another message or no JSON is retried', () => {
    expect(parse(reply(202, { message: 'queued' })).map((o) => o.type)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(parse(reply(200, { message: 'busy' }))[0]).toMatchObject({ type: 'retry', reason: 'HTTP 200 message "busy"' });
    expect(parse(reply(200, '<html>portal</html>'))[0]).toMatchObject({
      type: 'retry',
      reason: expect.stringContaining("without Braze's answer"),
    });
  });
});

describe('a refusal', () => {
  it("400 with no valid object rejects every delivery, each with its own object's error when named", () => {
    const outcomes = parse(
      reply(400, {
        message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.",
        errors: [{ type: "'price' is not valid", input_array: 'purchases', index: 0 }],
      }),
    );
    expect(outcomes.map((o) => [o.deliveryId, o.type, o.type === 'rejected' && o.code])).toEqual([
      ['a', 'rejected', 'braze_invalid_object'],
      ['b', 'rejected', 'http_400'],
      ['c', 'rejected', 'http_400'],
    ]);
  });

  it.each([401, 403, 404])('%i pauses the destination (key, permission or instance wrong)', (status) => {
    expect(parse(reply(status, { message: 'Invalid API Key' })).map((o) => o.type)).toEqual(['auth_failed', 'auth_failed', 'auth_failed']);
  });

  it('a reason never shows the API key', () => {
    for (const outcome of parse(reply(401, { message: 'Invalid API Key' }))) expect(JSON.stringify(outcome)).not.toContain(settings.apiKey);
  });
});

describe('waiting as Braze asks', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const wait = (status: number, headers: Record<string, string>) => brazeRetryAfterMs(reply(status, '', headers) as never, now);

  it('a 429 waits until X-RateLimit-Reset, or Retry-After / X-RateLimit-Retry-After when longer', () => {
    expect(wait(429, { 'X-RateLimit-Reset': String(now / 1000 + 3) })).toBe(3000);
    expect(wait(429, { 'x-ratelimit-reset': String(now / 1000 + 3), 'retry-after': '10' })).toBe(10_000);
    expect(wait(429, { 'X-RateLimit-Retry-After': '4' })).toBe(4000);
    expect(wait(429, { 'X-RateLimit-Reset': String(now / 1000 - 5) })).toBe(0); // already refilled: the backoff decides
    expect(wait(429, { 'X-RateLimit-Reset': 'soon' })).toBeUndefined();
  });

  it('a 5xx honours Retry-After, not the budget reset Braze sends with every answer', () => {
    expect(wait(503, { 'X-RateLimit-Reset': String(now / 1000 + 3) })).toBeUndefined();
    expect(wait(503, { 'Retry-After': '30', 'X-RateLimit-Reset': String(now / 1000 + 3) })).toBe(30_000);
  });

  it('429 and 5xx retry every delivery with that wait', () => {
    const reset = String(Math.ceil(Date.now() / 1000) + 60);
    for (const outcome of parse(reply(429, { message: 'Rate Limited' }, { 'X-RateLimit-Reset': reset }))) {
      expect(outcome).toMatchObject({ type: 'retry', status: 429 });
      expect(outcome.type === 'retry' && outcome.retryAfterMs).toBeGreaterThan(55_000);
    }
    expect(parse(reply(502, ''))[0]).toMatchObject({ type: 'retry', status: 502, retryAfterMs: undefined });
  });
});
