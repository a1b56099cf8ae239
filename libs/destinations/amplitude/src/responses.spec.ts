import type { DeliveryRequest, HttpResult, Outcome } from '@ferry/core';
import { fixtureEvent } from '@ferry/testkit';
import { buildRequests } from './requests';
import { DAILY_QUOTA_DELAY_MS, parseResponse, THROTTLE_DELAY_MS } from './responses';
import { AmplitudeSettings } from './settings';

const settings = AmplitudeSettings.parse({ apiKey: 'responses-spec-api-key' });

/** One request of four events: users u0…u3, u1 also with a device id d1 (index = position in `events`). */
function fourEvents(): DeliveryRequest {
  const batch = [0, 1, 2, 3].map((i) => {
    const e = fixtureEvent('renewal');
    const attributes: Record<string, string> =
      i === 1 ? { $amplitudeUserId: 'u1', $amplitudeDeviceId: 'd1' } : { $amplitudeUserId: `u${i}` };
    return { deliveryId: `delivery-${i}`, event: { ...e, id: `${e.id}-${i}`, attributes } };
  });
  const requests = buildRequests(batch, settings);
  expect(requests).toHaveLength(1);
  return requests[0];
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  kind: 'response',
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** The outcomes in delivery order, reduced to what a test states. */
function read(result: HttpResult, request = fourEvents()) {
  const outcomes = parseResponse(request, result);
  expect(outcomes.map((o) => o.deliveryId)).toEqual(request.deliveryIds);
  return outcomes.map((o: Outcome) => ({
    type: o.type,
    ...(o.type === 'rejected' && { code: o.code }),
    ...(o.type === 'retry' && { retryAfterMs: o.retryAfterMs }),
  }));
}

const retryNow = { type: 'retry', retryAfterMs: 0 };

describe('2xx', () => {
  it("delivers every event on Amplitude's answer", () => {
    const body = { code: 200, events_ingested: 4, payload_size_bytes: 5000, server_upload_time: 1_750_000_000_000 };
    expect(read(json(200, body))).toEqual(Array(4).fill({ type: 'delivered' }));
  });

  it.each([
    ['an HTML page', { kind: 'response', status: 200, headers: {}, body: '<html>ok</html>' }],
    ['JSON without code', json(200, { events_ingested: 4 })],
    ['a body code that is not a success', json(200, { code: 400, error: 'Invalid event JSON' })],
    ['an empty 204', { kind: 'response', status: 204, headers: {}, body: '' }],
  ] as [string, HttpResult][])(
    'retries every event on %s: they may not have landed, and insert_id makes a resend harmless',
    (_, result) => {
      expect(read(result)).toEqual(Array(4).fill({ type: 'retry', retryAfterMs: undefined }));
    },
  );
});

describe('400', () => {
  it('pauses the destination on an invalid API key', () => {
    expect(read(json(400, { code: 400, error: 'Invalid API key' }))).toEqual(Array(4).fill({ type: 'auth_failed' }));
  });

  it('rejects every event when the request itself lacks a field', () => {
    const outcomes = read(json(400, { code: 400, error: 'Request missing required field', missing_field: 'api_key' }));
    expect(outcomes).toEqual(Array(4).fill({ type: 'rejected', code: 'amplitude_missing_field' }));
  });

  it('rejects only the events it names, with the fields, and resends the others at once', () => {
    const request = fourEvents();
    const outcomes = parseResponse(
      request,
      json(400, {
        code: 400,
        error: 'Invalid field values on some events',
        events_with_invalid_fields: { time: [1, 3] },
        events_with_missing_fields: { event_type: [3] },
      }),
    );
    expect(outcomes).toEqual([
      { deliveryId: 'delivery-0', type: 'retry', status: 400, retryAfterMs: 0, reason: expect.stringContaining('not ingested') },
      {
        deliveryId: 'delivery-1',
        type: 'rejected',
        status: 400,
        code: 'amplitude_invalid_event',
        reason: 'HTTP 400: Invalid field values on some events: invalid time',
      },
      { deliveryId: 'delivery-2', type: 'retry', status: 400, retryAfterMs: 0, reason: expect.stringContaining('not ingested') },
      {
        deliveryId: 'delivery-3',
        type: 'rejected',
        status: 400,
        code: 'amplitude_invalid_event',
        reason: 'HTTP 400: Invalid field values on some events: invalid time, missing event_type',
      },
    ]);
  });

  it('reads short ids and silenced devices per event, and delays the throttled ones it names', () => {
    const outcomes = read(
      json(400, {
        code: 400,
        error: 'Events silenced for device_id',
        events_with_invalid_id_lengths: { user_id: [0] },
        silenced_devices: ['d1'],
        silenced_events: [1],
        throttled_devices: { d9: 40 },
        throttled_events: [2],
      }),
    );
    expect(outcomes).toEqual([
      { type: 'rejected', code: 'amplitude_invalid_event' },
      { type: 'rejected', code: 'amplitude_silenced' },
      { type: 'retry', retryAfterMs: THROTTLE_DELAY_MS },
      retryNow,
    ]);
  });

  it('ignores indexes that name no event of the request; with none left it rejects the request', () => {
    const partly = read(
      json(400, { code: 400, error: 'Invalid field values on some events', events_with_invalid_fields: { time: [2, 9, -1, 1.5, '0'] } }),
    );
    expect(partly).toEqual([retryNow, retryNow, { type: 'rejected', code: 'amplitude_invalid_event' }, retryNow]);
    const none = read(json(400, { code: 400, error: 'Invalid field values on some events', events_with_invalid_fields: { time: [7] } }));
    expect(none).toEqual(Array(4).fill({ type: 'rejected', code: 'amplitude_400' }));
  });

  it('rejects every event on a 400 that is not JSON', () => {
    expect(read({ kind: 'response', status: 400, headers: {}, body: '<html>Bad Request</html>' })).toEqual(
      Array(4).fill({ type: 'rejected', code: 'http_400' }),
    );
  });
});

describe('413', () => {
  it('retries several events with no delay of their own, so their jittered backoffs split them up', () => {
    const request = fourEvents();
    const outcomes = parseResponse(request, json(413, { code: 413, error: 'Payload too large' }));
    expect(outcomes.map((o) => o.type)).toEqual(['retry', 'retry', 'retry', 'retry']);
    expect(outcomes.every((o) => o.type === 'retry' && o.retryAfterMs === undefined)).toBe(true);
    expect(outcomes[0]).toMatchObject({ reason: expect.stringContaining(`4 events (${Buffer.byteLength(request.body)} bytes)`) });
  });

  it('rejects a lone event: it can never fit', () => {
    const [request] = buildRequests([{ deliveryId: 'alone', event: fixtureEvent('renewal') }], settings);
    expect(parseResponse(request, json(413, { code: 413, error: 'Payload too large' }))).toEqual([
      {
        deliveryId: 'alone',
        type: 'rejected',
        status: 413,
        code: 'amplitude_payload_too_large',
        reason: expect.stringMatching(/^HTTP 413: the event alone/),
      },
    ]);
  });
});

describe('429', () => {
  const throttledBody = { code: 429, error: 'Too many requests for some devices and users', eps_threshold: 30 };

  it('delays only the throttled users and devices; the rest go again at once', () => {
    const outcomes = read(
      json(429, { ...throttledBody, throttled_users: { u0: 31 }, throttled_devices: { d1: 45 }, throttled_events: [0, 1] }),
    );
    expect(outcomes).toEqual([
      { type: 'retry', retryAfterMs: THROTTLE_DELAY_MS },
      { type: 'retry', retryAfterMs: THROTTLE_DELAY_MS },
      retryNow,
      retryNow,
    ]);
  });

  it('finds throttled ids even when throttled_events is missing, and indexes even when the ids are', () => {
    expect(read(json(429, { ...throttledBody, throttled_users: { u2: 31 } }))).toEqual([
      retryNow,
      retryNow,
      { type: 'retry', retryAfterMs: THROTTLE_DELAY_MS },
      retryNow,
    ]);
    expect(read(json(429, { ...throttledBody, throttled_events: [3] }))).toEqual([
      retryNow,
      retryNow,
      retryNow,
      { type: 'retry', retryAfterMs: THROTTLE_DELAY_MS },
    ]);
  });

  it('makes ids over their daily quota wait an hour', () => {
    const outcomes = read(json(429, { ...throttledBody, exceeded_daily_quota_users: { u3: 500_001 }, throttled_events: [3] }));
    expect(outcomes).toEqual([retryNow, retryNow, retryNow, { type: 'retry', retryAfterMs: DAILY_QUOTA_DELAY_MS }]);
  });

  it('honours Retry-After for the throttled ones', () => {
    expect(read(json(429, { ...throttledBody, throttled_users: { u0: 31 } }, { 'Retry-After': '45' }))[0]).toEqual({
      type: 'retry',
      retryAfterMs: 45_000,
    });
  });

  it('retries everything the standard way when the answer names none of its events', () => {
    expect(read(json(429, { ...throttledBody, throttled_users: { stranger: 99 } }, { 'retry-after': '12' }))).toEqual(
      Array(4).fill({ type: 'retry', retryAfterMs: 12_000 }),
    );
  });

  it('never names a user in a reason: ids may be personal data', () => {
    const outcomes = parseResponse(
      fourEvents(),
      json(429, { ...throttledBody, throttled_users: { u0: 31 }, exceeded_daily_quota_users: { u1: 9 } }),
    );
    expect(JSON.stringify(outcomes.map((o) => ('reason' in o ? o.reason : '')))).not.toMatch(/\bu[0-3]\b|\bd1\b/);
  });
});

describe('everything else', () => {
  it.each([
    [408, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [401, 'auth_failed'],
    [403, 'auth_failed'],
    [404, 'rejected'],
  ])('HTTP %i → %s', (status, type) => {
    expect(read({ kind: 'response', status, headers: {}, body: '' }).map((o) => o.type)).toEqual(Array(4).fill(type));
  });

  it('retries on a timeout or a network error', () => {
    expect(read({ kind: 'timeout', message: 'no answer in 10 s' }).map((o) => o.type)).toEqual(Array(4).fill('retry'));
    expect(read({ kind: 'network', message: 'ECONNREFUSED' }).map((o) => o.type)).toEqual(Array(4).fill('retry'));
  });
});
