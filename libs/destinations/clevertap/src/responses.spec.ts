import type { DeliveryRequest, HttpResult, Outcome } from '@ferry/core';
import { fixtureEvent } from '@ferry/testkit';
import { clevertapPlugin as plugin } from './plugin';
import { CleverTapSettings } from './settings';

const settings = CleverTapSettings.parse({ accountId: 'ACC', passcode: 'PASS' });
const [request] = plugin.buildRequests(
  [
    { deliveryId: 'd1', event: fixtureEvent('initial_purchase') },
    { deliveryId: 'd2', event: fixtureEvent('renewal') },
    { deliveryId: 'd3', event: fixtureEvent('without_clevertap_id') },
  ],
  settings,
);
const records = JSON.parse(request.body).d as Record<string, unknown>[];

const ok = (body: unknown, status = 200): HttpResult => ({
  kind: 'response',
  status,
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const parse = (result: HttpResult, req: DeliveryRequest = request) => plugin.parseResponse(req, result, settings);
const types = (outcomes: Outcome[]) => outcomes.map((o) => `${o.deliveryId}:${o.type}${o.type === 'rejected' ? `:${o.code}` : ''}`);
const skipped = (code: number, n: number, detail = 'Event name is mandatory') => ({
  status: 'fail',
  code,
  error: `Event Name is incorrect. ErrorCode: ${code} - ${detail}. Skipped record number : ${n}`,
  record: records[n - 1],
});

describe('200 answers', () => {
  it('success: every record delivered', () => {
    const outcomes = parse(ok({ status: 'success', processed: 3, unprocessed: [] }));
    expect(outcomes).toEqual([
      { deliveryId: 'd1', type: 'delivered', status: 200 },
      { deliveryId: 'd2', type: 'delivered', status: 200 },
      { deliveryId: 'd3', type: 'delivered', status: 200 },
    ]);
  });

  it('partial: the records it names are rejected with CleverTap’s code and text, the rest delivered', () => {
    const outcomes = parse(ok({ status: 'partial', processed: 2, unprocessed: [skipped(509, 2)] }));
    expect(outcomes).toEqual([
      { deliveryId: 'd1', type: 'delivered', status: 200 },
      {
        deliveryId: 'd2',
        type: 'rejected',
        status: 200,
        code: 'clevertap_509',
        reason: 'Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. Skipped record number : 2',
      },
      { deliveryId: 'd3', type: 'delivered', status: 200 },
    ]);
  });

  it('finds the record by its number even without an echo, and by the echo (any key order) without a number', () => {
    expect(types(parse(ok({ status: 'partial', unprocessed: [{ code: 513, error: 'Restricted. Skipped record number : 3' }] })))).toEqual([
      'd1:delivered',
      'd2:delivered',
      'd3:rejected:clevertap_513',
    ]);
    const reordered = Object.fromEntries(Object.entries(records[0]).reverse());
    expect(types(parse(ok({ status: 'partial', unprocessed: [{ code: 525, error: 'Bad ts', record: reordered }] })))).toEqual([
      'd1:rejected:clevertap_525',
      'd2:delivered',
      'd3:delivered',
    ]);
  });

  it('falls back to the echo when the record number is out of range', () => {
    const entry = { code: 512, error: 'Invalid. Skipped record number : 9', record: records[1] };
    expect(types(parse(ok({ status: 'partial', unprocessed: [entry] })))).toEqual([
      'd1:delivered',
      'd2:rejected:clevertap_512',
      'd3:delivered',
    ]);
  });

  it('gives a record named twice one outcome', () => {
    const outcomes = parse(ok({ status: 'partial', unprocessed: [skipped(509, 1), skipped(512, 1)] }));
    expect(types(outcomes)).toEqual(['d1:rejected:clevertap_509', 'd2:delivered', 'd3:delivered']);
  });

  it('retries a record CleverTap failed with 555 (miscellaneous server error)', () => {
    const outcomes = parse(ok({ status: 'partial', unprocessed: [skipped(555, 1, 'Miscellaneous server error')] }));
    expect(outcomes[0]).toEqual({
      deliveryId: 'd1',
      type: 'retry',
      status: 200,
      reason: 'Event Name is incorrect. ErrorCode: 555 - Miscellaneous server error. Skipped record number : 1',
    });
    expect(types(outcomes).slice(1)).toEqual(['d2:delivered', 'd3:delivered']);
  });

  it('fail naming every record: each rejected with its own code', () => {
    const outcomes = parse(ok({ status: 'fail', processed: 0, unprocessed: [skipped(509, 1), skipped(513, 2), skipped(523, 3)] }));
    expect(types(outcomes)).toEqual(['d1:rejected:clevertap_509', 'd2:rejected:clevertap_513', 'd3:rejected:clevertap_523']);
  });

  it('fail naming no record: nothing landed, so every record is retried, with CleverTap’s words', () => {
    const outcomes = parse(ok({ status: 'fail', processed: 0, unprocessed: [] }));
    expect(outcomes.map((o) => [o.deliveryId, o.type])).toEqual([
      ['d1', 'retry'],
      ['d2', 'retry'],
      ['d3', 'retry'],
    ]);
    expect(outcomes[0]).toMatchObject({ reason: 'CleverTap answered "fail" without naming this record: no reason given' });
    const unnamed = parse(ok({ status: 'fail', unprocessed: [skipped(509, 1), { code: 400, error: 'Account suspended' }] }));
    expect(types(unnamed)).toEqual(['d1:rejected:clevertap_509', 'd2:retry', 'd3:retry']);
    expect(unnamed[1]).toMatchObject({ reason: 'CleverTap answered "fail" without naming this record: Account suspended' });
    const echoed = parse(ok({ status: 'fail', unprocessed: [{ code: 512, record: { ...records[0], ts: 1 } }, 'junk'] }));
    expect(echoed[0]).toMatchObject({
      type: 'retry',
      reason: 'CleverTap answered "fail" without naming this record: CleverTap code 512; an unreadable entry',
    });
    expect(JSON.stringify(echoed)).not.toContain('ana@example.com');
  });

  it('partial with an entry it cannot place: the others are delivered, never sent twice', () => {
    const outcomes = parse(
      ok({ status: 'partial', processed: 2, unprocessed: [{ code: 509, error: 'no number', record: { other: 1 } }, 'junk', null] }),
    );
    expect(types(outcomes)).toEqual(['d1:delivered', 'd2:delivered', 'd3:delivered']);
  });

  it('reads an entry with odd fields as far as it can', () => {
    const outcomes = parse(ok({ status: 'partial', unprocessed: [{ code: 'x', error: 'Skipped record number : 2' }] }));
    expect(outcomes[1]).toEqual({
      deliveryId: 'd2',
      type: 'rejected',
      status: 200,
      code: 'clevertap_unprocessed',
      reason: 'Skipped record number : 2',
    });
  });

  it.each([
    ['an HTML page', '<html><body>Welcome to the hotel wifi</body></html>'],
    ['an empty body', ''],
    ['JSON without a status', { processed: 3 }],
    ['an unknown status', { status: 'maybe', processed: 3 }],
    ['a JSON array', [1, 2, 3]],
    ['unprocessed that is not a list', { status: 'partial', unprocessed: 'd2' }],
  ])('200 with %s: the records may not have landed, so all retry', (_label, body) => {
    const outcomes = parse(ok(body));
    expect(outcomes.map((o) => [o.deliveryId, o.type, o.status])).toEqual([
      ['d1', 'retry', 200],
      ['d2', 'retry', 200],
      ['d3', 'retry', 200],
    ]);
  });
});

describe('other answers', () => {
  const response = (status: number, body = '', headers: Record<string, string> = {}): HttpResult => ({
    kind: 'response',
    status,
    headers,
    body,
  });

  it.each([
    [401, 'auth_failed'],
    [403, 'auth_failed'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [400, 'rejected'],
    [404, 'rejected'],
    [413, 'rejected'],
  ])('HTTP %i → %s for every record', (status, type) => {
    const outcomes = parse(response(status, '{"status":"fail","error":"x","code":1}'));
    expect(outcomes.map((o) => [o.deliveryId, o.type, o.status])).toEqual([
      ['d1', type, status],
      ['d2', type, status],
      ['d3', type, status],
    ]);
  });

  it('rejects another 4xx with its status as the code', () => {
    expect(parse(response(400, '{"status":"fail","error":"Malformed request","code":400}'))[0]).toMatchObject({
      type: 'rejected',
      code: 'http_400',
      reason: 'HTTP 400: {"status":"fail","error":"Malformed request","code":400}',
    });
  });

  it('honours Retry-After on 429 and 503, and has none without it', () => {
    expect(parse(response(429, 'Too many concurrent requests', { 'Retry-After': '7' }))[0]).toMatchObject({
      type: 'retry',
      retryAfterMs: 7000,
    });
    expect(parse(response(503, '', { 'retry-after': '2' }))[2]).toMatchObject({ type: 'retry', retryAfterMs: 2000 });
    expect(parse(response(429, 'Too many concurrent requests'))[0].type).toBe('retry');
    expect(parse(response(429, 'Too many concurrent requests'))[0]).not.toHaveProperty('retryAfterMs', expect.anything());
  });

  it.each([[{ kind: 'timeout', message: 'no answer within 10000 ms' } as const], [{ kind: 'network', message: 'ECONNRESET' } as const]])(
    '%j → retry for every record',
    (result) => {
      const outcomes = parse(result);
      expect(outcomes.map((o) => [o.deliveryId, o.type])).toEqual([
        ['d1', 'retry'],
        ['d2', 'retry'],
        ['d3', 'retry'],
      ]);
      expect(outcomes[0]).toMatchObject({ reason: `${result.kind}: ${result.message}` });
    },
  );
});
