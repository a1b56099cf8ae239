import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { fakeSpecHarness, until, type SendOptions } from '../fake-http/client.spec-helper';
import { FakeAmplitudeInputError } from './faults';
import { startFakeAmplitude, type FakeAmplitude, type FakeAmplitudeOptions } from './server';

const KEY = 'amp-fake-spec-key-7f3a';
const SECOND_KEY = 'amp-fake-spec-key-2-9c1e';
const SANDBOX_KEY = 'amp-fake-spec-sandbox-5b2d';
const JSON_TYPE = 'application/json';
const DAY_MS = 24 * 60 * 60_000;

const harness = fakeSpecHarness<FakeAmplitude>();

/** A clock the test moves by hand. */
function manualClock(start = 1_750_000_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

async function start(options: FakeAmplitudeOptions = {}): Promise<FakeAmplitude> {
  return harness.track(await startFakeAmplitude({ projects: { production: [KEY, SECOND_KEY], sandbox: SANDBOX_KEY }, ...options }));
}

const send = (
  fake: FakeAmplitude,
  { path = '/2/httpapi', headers = { 'content-type': JSON_TYPE }, ...rest }: SendOptions & { path?: string },
) => harness.send(`${fake.url}${path}`, { headers, ...rest });

const upload = (
  fake: FakeAmplitude,
  events: unknown[],
  { key = KEY, path = '/2/httpapi', options }: { key?: string; path?: string; options?: unknown } = {},
) => send(fake, { path, body: { api_key: key, events, ...(options !== undefined && { options }) } });

const event = (overrides: Record<string, unknown> = {}) => ({
  event_type: 'rc_renewal_event',
  user_id: 'user-00001',
  time: 1_743_501_605_000,
  insert_id: `insert-${Math.random()}`,
  revenue: 9.99,
  event_properties: { store: 'APP_STORE' },
  ...overrides,
});

const stored = (fake: FakeAmplitude, project?: string) => fake.events(project).map((e) => e.event['event_type']);

describe('routing', () => {
  it('answers 400 Invalid request path for any other path or method, logging both', async () => {
    const fake = await start();
    const other = await upload(fake, [event()], { path: '/2/httpapis' });
    const get = await send(fake, { method: 'GET' });
    expect([other, get].map((r) => [r.status, r.json])).toEqual([
      [400, { code: 400, error: 'Invalid request path' }],
      [400, { code: 400, error: 'Invalid request path' }],
    ]);
    expect(fake.requests().map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/2/httpapis', 400],
      ['GET', '/2/httpapi', 400],
    ]);
    expect(fake.events()).toEqual([]);
  });

  it('knows only its own two paths, whatever another is called', async () => {
    const fake = await start();
    for (const path of ['/constructor', '/__proto__', '/toString']) expect((await upload(fake, [event()], { path })).status).toBe(400);
  });

  it('takes the same events on /batch, and says which endpoint took them', async () => {
    const fake = await start();
    expect((await upload(fake, [event()], { path: '/batch' })).status).toBe(200);
    expect((await upload(fake, [event()])).status).toBe(200);
    expect(fake.events().map((e) => e.endpoint)).toEqual(['/batch', '/2/httpapi']);
  });
});

describe('request body', () => {
  it.each([
    ['an empty body', '', { code: 400, error: 'Missing request body' }],
    ['JSON that does not parse', '{"api_key": ', { code: 400, error: 'Invalid JSON request body' }],
    ['a body that is not an object', '[1, 2]', { code: 400, error: 'Invalid JSON request body' }],
    ['no api_key', JSON.stringify({ events: [event()] }), { code: 400, error: 'Request missing required field', missing_field: 'api_key' }],
    [
      'no events',
      JSON.stringify({ api_key: KEY, event: event() }),
      { code: 400, error: 'Request missing required field', missing_field: 'events' },
    ],
    [
      'an empty events list',
      JSON.stringify({ api_key: KEY, events: [] }),
      { code: 400, error: 'Request missing required field', missing_field: 'events' },
    ],
    [
      'an event that is not an object',
      JSON.stringify({ api_key: KEY, events: [event(), 'x'] }),
      { code: 400, error: 'Invalid event JSON' },
    ],
  ])('answers %s with the documented 400', async (_, body, expected) => {
    const fake = await start();
    const reply = await send(fake, { body });
    expect([reply.status, reply.json]).toEqual([400, expected]);
    expect(fake.events()).toEqual([]);
  });

  it('wants a JSON content type, with or without a charset', async () => {
    const fake = await start();
    const body = { api_key: KEY, events: [event()] };
    const text = await send(fake, { body, headers: { 'content-type': 'text/plain' } });
    const charset = await send(fake, { body, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect([text.status, charset.status]).toEqual([400, 200]);
  });

  it('takes a gzip body, and refuses one that does not decompress', async () => {
    const fake = await start();
    const zipped = gzipSync(JSON.stringify({ api_key: KEY, events: [event({ event_type: 'zipped' })] }));
    const headers = { 'content-type': JSON_TYPE, 'content-encoding': 'gzip' };
    expect((await send(fake, { body: zipped, headers })).status).toBe(200);
    expect((await send(fake, { body: Buffer.from('not gzip'), headers })).json).toEqual({ code: 400, error: 'Invalid JSON request body' });
    expect(stored(fake)).toEqual(['zipped']);
    expect(fake.requests()[0].body).toMatchObject({ events: [{ event_type: 'zipped' }] });
  });
});

describe('API keys', () => {
  it('answers 400 Invalid API key for an unknown key and stores nothing', async () => {
    const fake = await start();
    const reply = await upload(fake, [event()], { key: 'not-a-known-key' });
    expect([reply.status, reply.json]).toEqual([400, { code: 400, error: 'Invalid API key' }]);
    expect(fake.events()).toEqual([]);
  });

  it('files events under the project of the key, any key of it', async () => {
    const fake = await start();
    await upload(fake, [event({ event_type: 'a' })]);
    await upload(fake, [event({ event_type: 'b' })], { key: SECOND_KEY });
    await upload(fake, [event({ event_type: 'c' })], { key: SANDBOX_KEY });
    expect([stored(fake, 'production'), stored(fake, 'sandbox')]).toEqual([['a', 'b'], ['c']]);
    expect(fake.requests().map((r) => r.project)).toEqual(['production', 'production', 'sandbox']);
  });
});

describe('event validation', () => {
  it('refuses the whole request, listing every failing event per field', async () => {
    const fake = await start();
    const events = [
      event(),
      event({ event_type: undefined }),
      event({ time: '2025-04-01T10:00:00Z' }),
      event({ time: 1.5, event_type: '' }),
      event({ user_id: 'null' }),
      event({ user_id: undefined }),
      event({ event_properties: ['not', 'an', 'object'], revenue: '9.99' }),
      event({ event_type: '[Amplitude] Revenue' }),
    ];
    const reply = await upload(fake, events);
    expect([reply.status, reply.json]).toEqual([
      400,
      {
        code: 400,
        error: 'Invalid field values on some events',
        events_with_invalid_fields: { time: [2, 3], event_type: [3, 7], user_id: [4], revenue: [6], event_properties: [6] },
        events_with_missing_fields: { event_type: [1], user_id: [5] },
      },
    ]);
    expect(fake.events()).toEqual([]);
  });

  it('lists only the first failing event per field in firstIndexOnly mode', async () => {
    const fake = await start({ firstIndexOnly: true });
    const reply = await upload(fake, [event({ time: 'x' }), event({ user_id: 'null' }), event({ time: 'y', user_id: 'nil' })]);
    expect(reply.json).toEqual({
      code: 400,
      error: 'Invalid field values on some events',
      events_with_invalid_fields: { time: [0], user_id: [1] },
    });
  });

  it('strips ids shorter than min_id_length (5 unless the request says): an event left without one is refused', async () => {
    const fake = await start();
    const short = await upload(fake, [event({ user_id: 'abc' }), event({ user_id: 'abc', device_id: 'device-0001' })]);
    expect([short.status, short.json]).toEqual([
      400,
      { code: 400, error: 'Invalid id length for user_id or device_id', events_with_invalid_id_lengths: { user_id: [0] } },
    ]);
    const allowed = await upload(fake, [event({ user_id: 'abc' }), event({ user_id: 'abc', device_id: 'device-0001' })], {
      options: { min_id_length: 1 },
    });
    expect(allowed.status).toBe(200);
    expect(fake.events()).toHaveLength(2);
  });
});

describe('size limits', () => {
  it('answers 413 over the events limit, and takes a request at the limit', async () => {
    const fake = await start({ maxEvents: 3 });
    const tooMany = await upload(fake, [event(), event(), event(), event()]);
    expect([tooMany.status, tooMany.json]).toEqual([413, { code: 413, error: 'Payload too large' }]);
    expect((await upload(fake, [event(), event(), event()])).status).toBe(200);
  });

  it('answers 413 over the byte limit of the endpoint, counting the body to the byte', async () => {
    const events = [event({ insert_id: 'fixed-1' })];
    const bytes = Buffer.byteLength(JSON.stringify({ api_key: KEY, events }));
    const fake = await start({ maxBytes: { httpApi: bytes, batch: bytes - 1 } });
    expect((await upload(fake, events, { path: '/batch' })).status).toBe(413);
    expect((await upload(fake, events)).status).toBe(200);
  });
});

describe('silenced devices', () => {
  it('refuses a request holding an event of a silenced device, naming it', async () => {
    const fake = await start({ silencedDevices: ['device-muted'] });
    const reply = await upload(fake, [event(), event({ device_id: 'device-muted' })]);
    expect([reply.status, reply.json]).toEqual([
      400,
      {
        code: 400,
        error: 'Events silenced for device_id',
        eps_threshold: 30,
        silenced_devices: ['device-muted'],
        silenced_events: [1],
        throttled_devices: {},
        throttled_events: [],
        exceeded_daily_quota_devices: {},
      },
    ]);
    expect(fake.events()).toEqual([]);
  });
});

describe('per-id rate limit', () => {
  it('answers 429 naming the ids over the limit and their events, until the window has passed', async () => {
    const clock = manualClock();
    // 2 events/s over 1 s: a user or device may send 2 events per second.
    const fake = await start({ rateLimit: { httpApi: 2, windowMs: 1000 }, now: clock.now });
    expect((await upload(fake, [event({ user_id: 'hot-user' }), event({ user_id: 'hot-user' })])).status).toBe(200);
    const reply = await upload(fake, [event({ user_id: 'calm-user' }), event({ user_id: 'hot-user', device_id: 'device-0001' })]);
    expect([reply.status, reply.json]).toEqual([
      429,
      {
        code: 429,
        error: 'Too many requests for some devices and users',
        eps_threshold: 2,
        throttled_users: { 'hot-user': 3 },
        throttled_devices: {},
        throttled_events: [1],
      },
    ]);
    expect(fake.events()).toHaveLength(2); // a refused request takes nothing, not even the calm user's event
    clock.advance(1000);
    expect((await upload(fake, [event({ user_id: 'hot-user' })])).status).toBe(200);
  });

  it('counts ids named like object properties as any other', async () => {
    const fake = await start({ rateLimit: { httpApi: 1, windowMs: 1000 }, now: manualClock().now });
    const reply = await upload(fake, [event({ user_id: '__proto__' }), event({ user_id: '__proto__' }), event({ user_id: 'constructor' })]);
    expect(reply.json).toMatchObject({ throttled_users: { ['__proto__']: 2 }, throttled_events: [0, 1] });
    expect(Object.keys((reply.json as { throttled_users: object }).throttled_users)).toEqual(['__proto__']);
  });

  it('counts devices too, per project, and allows more on /batch', async () => {
    const fake = await start({ rateLimit: { httpApi: 1, batch: 2, windowMs: 1000 }, now: manualClock().now });
    const twice = [event({ user_id: 'user-a', device_id: 'device-x' }), event({ user_id: 'user-b', device_id: 'device-x' })];
    expect((await upload(fake, twice)).json).toMatchObject({
      throttled_users: {},
      throttled_devices: { 'device-x': 2 },
      throttled_events: [0, 1],
    });
    expect((await upload(fake, twice, { key: SANDBOX_KEY, path: '/batch' })).status).toBe(200);
    expect((await upload(fake, twice, { path: '/batch' })).status).toBe(200);
  });

  it('throttles on cue, adding the daily-quota lists on /batch', async () => {
    const fake = await start();
    fake.inject({ type: 'throttle', users: ['user-a'], dailyQuotaDevices: ['device-q'] }, { type: 'throttle', devices: ['device-q'] });
    const events = [event({ user_id: 'user-a' }), event({ user_id: 'user-b' }), event({ user_id: 'user-c', device_id: 'device-q' })];
    expect((await upload(fake, events, { path: '/batch' })).json).toEqual({
      code: 429,
      error: 'Too many requests for some devices and users',
      eps_threshold: 1000,
      throttled_users: { 'user-a': 1001 },
      throttled_devices: {},
      throttled_events: [0, 2],
      exceeded_daily_quota_users: {},
      exceeded_daily_quota_devices: { 'device-q': 500_001 },
    });
    expect((await upload(fake, events)).json).toMatchObject({ throttled_devices: { 'device-q': 31 }, throttled_events: [2] });
    expect(fake.requests().map((r) => r.fault)).toEqual(['throttle', 'throttle']);
    expect((await upload(fake, events)).status).toBe(200);
  });
});

describe('deduplication by insert_id', () => {
  it('answers 200 to a repeat but keeps the event once, per device (or user), for 7 days', async () => {
    const clock = manualClock();
    const fake = await start({ now: clock.now });
    const first = await upload(fake, [event({ insert_id: 'same', event_type: 'first' })]);
    expect(first.json).toEqual({ code: 200, events_ingested: 1, payload_size_bytes: expect.any(Number), server_upload_time: clock.now() });
    expect((await upload(fake, [event({ insert_id: 'same', event_type: 'repeat' })])).status).toBe(200);
    await upload(fake, [event({ insert_id: 'same', event_type: 'other user', user_id: 'user-00002' })]);
    await upload(fake, [event({ insert_id: 'same', event_type: 'other project' })], { key: SANDBOX_KEY });
    await upload(fake, [
      event({ insert_id: undefined, event_type: 'no insert_id' }),
      event({ insert_id: undefined, event_type: 'no insert_id' }),
    ]);
    clock.advance(7 * DAY_MS);
    await upload(fake, [event({ insert_id: 'same', event_type: 'a week later' })]);
    expect(stored(fake)).toEqual(['first', 'other user', 'other project', 'no insert_id', 'no insert_id', 'a week later']);
  });

  it('reports the bytes it read', async () => {
    const fake = await start();
    const body = JSON.stringify({ api_key: KEY, events: [event()] });
    expect((await send(fake, { body })).json).toMatchObject({ payload_size_bytes: Buffer.byteLength(body) });
  });
});

describe('faults', () => {
  it('answers 500, 502 and 504 after taking the events, 503 and 403 before', async () => {
    const fake = await start();
    fake.inject(
      { type: 'status', status: 500 },
      { type: 'status', status: 503 },
      { type: 'status', status: 403 },
      { type: 'status', status: 504, afterStore: false, body: 'gateway', headers: { 'content-type': 'text/plain', 'retry-after': '3' } },
    );
    const replies = [];
    for (const name of ['after 500', 'before 503', 'before 403', 'before 504'])
      replies.push(await upload(fake, [event({ event_type: name })]));
    expect(replies.map((r) => [r.status, r.json ?? r.text])).toEqual([
      [500, { code: 500, error: 'Internal Server Error' }],
      [503, { code: 503, error: 'Service Unavailable' }],
      [403, { code: 403, error: 'Forbidden' }],
      [504, 'gateway'],
    ]);
    expect(replies[3].headers['retry-after']).toBe('3');
    expect(stored(fake)).toEqual(['after 500']);
    expect((await upload(fake, [event({ event_type: 'normal again' })])).status).toBe(200);
  });

  it('drops the connection before or after taking the events', async () => {
    const fake = await start();
    fake.inject({ type: 'reset-before-store' }, { type: 'reset-after-store' });
    await expect(upload(fake, [event({ event_type: 'lost' })])).rejects.toThrow();
    await expect(upload(fake, [event({ event_type: 'landed' })])).rejects.toThrow();
    expect(stored(fake)).toEqual(['landed']);
    expect(fake.requests().map((r) => r.status)).toEqual([null, null]);
  });

  it('answers normally after a scripted delay, and never after a hang', async () => {
    const fake = await start();
    fake.inject({ type: 'delay', ms: 20 }, { type: 'hang' });
    expect((await upload(fake, [event()])).status).toBe(200);
    const abort = new AbortController();
    const hung = request(`${fake.url}/2/httpapi`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body: JSON.stringify({ api_key: KEY, events: [event()] }),
      dispatcher: harness.agent,
      signal: abort.signal,
    });
    await until(() => fake.requests().length === 2);
    abort.abort();
    await expect(hung).rejects.toThrow();
    expect(fake.requests().map((r) => [r.fault, r.status])).toEqual([
      ['delay', 200],
      ['hang', null],
    ]);
  });

  it('refuses a malformed fault, naming the field', () => {
    return start().then((fake) => {
      expect(() => fake.inject({ type: 'status', status: 99 })).toThrow(FakeAmplitudeInputError);
      expect(() => fake.inject({ type: 'status', status: 99 })).toThrow(/status/);
      expect(() => fake.inject({ type: 'throttle', users: [''] } as never)).toThrow(/users/);
    });
  });
});

describe('control API', () => {
  it('shows events and requests without any API key, known or not', async () => {
    const fake = await start();
    await upload(fake, [event({ event_type: 'shown', event_properties: { note: `key ${KEY}` } })]);
    await upload(fake, [event()], { key: 'unknown-key-shown-nowhere' });
    const events = await send(fake, { method: 'GET', path: '/_fake/events?project=production' });
    const requests = await send(fake, { method: 'GET', path: '/_fake/requests' });
    const text = JSON.stringify([events.json, requests.json]);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('unknown-key-shown-nowhere');
    expect(events.json).toMatchObject([{ project: 'production', event: { event_type: 'shown' } }]);
    expect(requests.json).toMatchObject([{ body: { api_key: '[redacted]' } }, { body: { api_key: '[redacted]' } }]);
    // In process the test sees what was sent.
    expect(fake.requests()[0].body).toMatchObject({ api_key: KEY });
  });

  it('queues faults, refuses bad ones with their paths, and resets', async () => {
    const fake = await start();
    const queued = await send(fake, { path: '/_fake/faults', body: [{ type: 'status', status: 503 }] });
    const bad = await send(fake, { path: '/_fake/faults', body: { type: 'delay', ms: -1 } });
    expect([queued.status, queued.json]).toEqual([200, { queued: 1 }]);
    expect([bad.status, bad.json]).toEqual([400, { error: 'Invalid fault', issues: [{ path: 'ms', message: expect.any(String) }] }]);
    expect((await upload(fake, [event()])).status).toBe(503);
    expect((await send(fake, { path: '/_fake/reset' })).status).toBe(204);
    expect(fake.requests()).toEqual([]);
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    const fake = await start();
    expect((await send(fake, { method: 'GET', path: '/_fake/nothing' })).status).toBe(404);
    const wrong = await send(fake, { method: 'DELETE', path: '/_fake/events' });
    expect([wrong.status, wrong.headers['allow']]).toEqual([405, 'GET']);
  });
});

describe('options and lifecycle', () => {
  it('refuses bad options, naming each', async () => {
    const attempt = startFakeAmplitude({ port: -1, projects: { production: '' }, rateLimit: { httpApi: 0 } } as FakeAmplitudeOptions);
    await expect(attempt).rejects.toThrow(FakeAmplitudeInputError);
    await expect(attempt).rejects.toThrow(/port.*projects\.production.*rateLimit\.httpApi/);
  });

  it('forgets events, requests, rate windows and seen insert_ids on reset', async () => {
    // One event per user per window, and a clock that never moves: only reset() can make room.
    const fake = await start({ rateLimit: { httpApi: 1, windowMs: 1000 }, now: manualClock().now });
    await upload(fake, [event({ insert_id: 'once' })]);
    expect((await upload(fake, [event()])).status).toBe(429);
    fake.reset();
    expect([fake.events(), fake.requests()]).toEqual([[], []]);
    expect((await upload(fake, [event({ insert_id: 'once' })])).status).toBe(200);
    expect(fake.events()).toHaveLength(1);
  });

  it('reports each settled request once, and closes with requests hanging', async () => {
    const seen: (number | null)[] = [];
    const fake = await start({ onRequest: (r) => seen.push(r.status) });
    await upload(fake, [event()]);
    fake.inject({ type: 'hang' });
    const hung = upload(fake, [event()]);
    await until(() => fake.requests().length === 2);
    await fake.close();
    await expect(hung).rejects.toThrow();
    await until(() => seen.length === 2);
    expect(seen).toEqual([200, null]);
  });
});
