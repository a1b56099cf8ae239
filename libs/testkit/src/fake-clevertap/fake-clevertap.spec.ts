import { fakeSpecHarness, until, type SendOptions } from '../fake-http/client.spec-helper';
import { FakeCleverTapInputError } from './faults';
import { startFakeCleverTap, type FakeCleverTap, type FakeCleverTapOptions, type LoggedRequest } from './server';

const ACCOUNT = 'ACC-TEST-1';
const PASSCODE = 'pass-first-7f3a';
const SECOND_PASSCODE = 'pass-second-9c1e';
const OTHER_ACCOUNT = 'ACC-TEST-2';
const OTHER_PASSCODE = 'pass-other-5b2d';
const JSON_TYPE = 'application/json; charset=utf-8';
const AUTH = { 'x-clevertap-account-id': ACCOUNT, 'x-clevertap-passcode': PASSCODE, 'content-type': JSON_TYPE };
const OTHER_AUTH = { ...AUTH, 'x-clevertap-account-id': OTHER_ACCOUNT, 'x-clevertap-passcode': OTHER_PASSCODE };

// Bodies CleverTap (or CleverTap's own tools) were seen to send: reference/clevertap-api.md §1.8.
const INVALID_CREDENTIALS = { status: 'fail', error: 'Invalid Credentials', code: 401 };
const MALFORMED = { status: 'fail', error: 'Malformed request', code: 400 };
const TOO_MANY = { status: 'fail', error: 'Too many concurrent requests', code: 429 };
/** `<summary>. ErrorCode: <code> - <detail>. Skipped record number : <n>` */
const errorFormat = (code: number, recordNumber: number) =>
  new RegExp(`^[A-Z][^.]*\\. ErrorCode: ${code} - [^\\n]+\\. Skipped record number : ${recordNumber}$`);

const harness = fakeSpecHarness<FakeCleverTap>();

async function start(options: FakeCleverTapOptions = {}): Promise<FakeCleverTap> {
  return harness.track(
    await startFakeCleverTap({ accounts: { [ACCOUNT]: [PASSCODE, SECOND_PASSCODE], [OTHER_ACCOUNT]: OTHER_PASSCODE }, ...options }),
  );
}

const send = (fake: FakeCleverTap, { path = '/1/upload', headers = AUTH, ...rest }: SendOptions & { path?: string }) =>
  harness.send(`${fake.url}${path}`, { headers, ...rest });

const upload = (fake: FakeCleverTap, records: unknown[], headers: Record<string, string> = AUTH, path = '/1/upload') =>
  send(fake, { body: { d: records }, headers, path });

const event = (overrides: Record<string, unknown> = {}) => ({
  type: 'event',
  evtName: 'rc_renewal_event',
  identity: 'user-1',
  ts: 1_700_000_000,
  evtData: { amount: 4.99, currency: 'USD', $email: 'a@example.com' },
  ...overrides,
});

/** Waits until the fake has seen `count` requests (it cannot tell us otherwise while it withholds an answer). */
async function untilRequests(fake: FakeCleverTap, count: number): Promise<void> {
  await until(() => fake.requests().length >= count);
  expect(fake.requests()).toHaveLength(count);
}

describe('routing', () => {
  it('answers 404 for any path but /1/upload and 405 for other methods on it, logging both', async () => {
    const fake = await start();
    const other = await upload(fake, [event()], AUTH, '/1/uploads');
    const root = await send(fake, { method: 'GET', path: '/', headers: {} });
    const get = await send(fake, { method: 'GET', path: '/1/upload' });
    expect([other.status, root.status, get.status]).toEqual([404, 404, 405]);
    expect(other.json).toEqual({ status: 'fail', error: 'Not Found', code: 404 });
    expect(get.headers['allow']).toBe('POST');
    expect(fake.requests().map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/1/uploads', 404],
      ['GET', '/', 404],
      ['GET', '/1/upload', 405],
    ]);
    expect(fake.records()).toEqual([]);
  });

  it('accepts any Host header, so a client may address it by a regional host name', async () => {
    const fake = await start();
    const reply = await send(fake, { body: { d: [event()] }, headers: { ...AUTH, host: 'us1.api.clevertap.com' } });
    expect(reply.status).toBe(200);
    expect(fake.requests()[0].headers['host']).toBe('us1.api.clevertap.com');
  });
});

describe('authentication', () => {
  it.each([
    ['no credentials', { 'content-type': JSON_TYPE }],
    ['no passcode', { 'content-type': JSON_TYPE, 'x-clevertap-account-id': ACCOUNT }],
    ['a wrong passcode', { ...AUTH, 'x-clevertap-passcode': 'wrong-passcode' }],
    ['an unknown account', { ...AUTH, 'x-clevertap-account-id': 'ACC-UNKNOWN' }],
    ["another account's passcode", { ...AUTH, 'x-clevertap-passcode': OTHER_PASSCODE }],
  ])('answers 401 with the documented body for %s, and stores nothing', async (_, headers) => {
    const fake = await start();
    const reply = await upload(fake, [event()], headers);
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual(INVALID_CREDENTIALS);
    expect(fake.records()).toEqual([]);
  });

  it('checks credentials before reading the body', async () => {
    const fake = await start();
    const reply = await send(fake, { body: '{not json', headers: { ...AUTH, 'x-clevertap-passcode': 'wrong-passcode' } });
    expect(reply.status).toBe(401);
  });

  it('accepts every passcode of an account', async () => {
    const fake = await start();
    const first = await upload(fake, [event({ identity: 'a' })]);
    const second = await upload(fake, [event({ identity: 'b' })], { ...AUTH, 'x-clevertap-passcode': SECOND_PASSCODE });
    const other = await upload(fake, [event({ identity: 'c' })], OTHER_AUTH);
    expect([first.status, second.status, other.status]).toEqual([200, 200, 200]);
    expect(fake.records(ACCOUNT).map((r) => (r.record as { identity: string }).identity)).toEqual(['a', 'b']);
    expect(fake.records(OTHER_ACCOUNT)).toHaveLength(1);
  });
});

describe('request body', () => {
  it.each([
    ['JSON that does not parse', '{"d": ['],
    ['a body that is not an object', '[1, 2]'],
    ['an object without d', '{"records": []}'],
    ['d that is not an array', '{"d": {"type": "event"}}'],
    ['an empty d', '{"d": []}'],
    ['an empty body', ''],
  ])('answers 400 Malformed request for %s', async (_, body) => {
    const fake = await start();
    const reply = await send(fake, { body });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual(MALFORMED);
  });

  it('wants a JSON content type, with or without a charset', async () => {
    const fake = await start();
    const text = await send(fake, { body: { d: [event()] }, headers: { ...AUTH, 'content-type': 'text/plain' } });
    const plain = await send(fake, { body: { d: [event()] }, headers: { ...AUTH, 'content-type': 'application/json' } });
    expect(text.status).toBe(400);
    expect(text.json).toMatchObject({ status: 'fail', code: 400, error: expect.stringMatching(/^Malformed request.*Content-Type/) });
    expect(plain.status).toBe(200);
  });

  it('takes 1000 records, refuses 1001 with 400 and stores none of them', async () => {
    const fake = await start();
    const records = Array.from({ length: 1001 }, (_, i) => event({ identity: `user-${i}` }));
    const tooMany = await upload(fake, records);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json).toMatchObject({ status: 'fail', code: 400, error: expect.stringMatching(/^Malformed request.*1000/) });
    expect(fake.records()).toEqual([]);

    const full = await upload(fake, records.slice(0, 1000));
    expect(full.json).toEqual({ status: 'success', processed: 1000, unprocessed: [] });
    expect(fake.records()).toHaveLength(1000);
  });
});

describe('per-record validation', () => {
  const longKey = 'k'.repeat(121);
  const cases: [string, unknown, number][] = [
    ['a record that is not an object', 42, 524],
    ['a record without type', { evtName: 'x', identity: 'u' }, 524],
    ['an unknown type', event({ type: 'evt' }), 524],
    ['no identity field', event({ identity: undefined }), 523],
    ['only blank identities', event({ identity: '', objectId: '  ' }), 523],
    ['ts in milliseconds', event({ ts: 1_700_000_000_000 }), 525],
    ['ts as a string', event({ ts: '1700000000' }), 525],
    ['a negative ts', event({ ts: -5 }), 525],
    ['a fractional ts', event({ ts: 1_700_000_000.5 }), 525],
    ['an event without evtName', event({ evtName: undefined }), 509],
    ['an empty evtName', event({ evtName: ' ' }), 509],
    ['a restricted system event', event({ evtName: 'App Launched' }), 513],
    ['a restricted event in another spelling', event({ evtName: 'app  LAUNCHED' }), 513],
    ['evtData that is not an object', event({ evtData: 'amount=4.99' }), 512],
    ['evtData that is null', event({ evtData: null }), 512],
    ['a nested object property', event({ evtData: { price: { amount: 1 } } }), 512],
    ['an array property', event({ evtData: { tags: ['a'] } }), 512],
    ['Items on an event other than Charged', event({ evtData: { Items: [{ sku: 'a' }] } }), 512],
    ['more than 256 properties', event({ evtData: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`p${i}`, i])) }), 522],
    ['a key over 120 characters', event({ evtData: { [longKey]: 1 } }), 512],
    ['a value over 512 bytes (257 two-byte characters)', event({ evtData: { note: 'é'.repeat(257) } }), 512],
    ['a profile with profileData not an object', { type: 'profile', identity: 'u', profileData: [] }, 512],
    ['a Gender other than M or F', { type: 'profile', identity: 'u', profileData: { Gender: 'Male' } }, 514],
    ['a bad Email', { type: 'profile', identity: 'u', profileData: { Email: 'not-an-email' } }, 515],
    ['a Phone without country code', { type: 'profile', identity: 'u', profileData: { Phone: '0612345678' } }, 516],
    ['an Employed other than Y or N', { type: 'profile', identity: 'u', profileData: { Employed: 'yes' } }, 517],
    ['an unknown Education', { type: 'profile', identity: 'u', profileData: { Education: 'PhD' } }, 518],
    ['a Married other than Y or N', { type: 'profile', identity: 'u', profileData: { Married: 'no' } }, 519],
    ['a non-numeric Age', { type: 'profile', identity: 'u', profileData: { Age: 'thirty' } }, 520],
    ['a profile date that is not $D_<seconds>', { type: 'profile', identity: 'u', profileData: { rc_expires_at: '$D_1.7e9' } }, 512],
    ['a profile date in milliseconds', { type: 'profile', identity: 'u', profileData: { rc_expires_at: '$D_1700000000000' } }, 512],
    ['a multi-value of 101 strings', { type: 'profile', identity: 'u', profileData: { tags: Array.from({ length: 101 }, String) } }, 512],
    ['a multi-value holding a number', { type: 'profile', identity: 'u', profileData: { tags: ['a', 1] } }, 512],
    ['a nested profile value', { type: 'profile', identity: 'u', profileData: { plan: { id: 'x' } } }, 512],
    ['a profile value over 512 bytes', { type: 'profile', identity: 'u', profileData: { note: 'é'.repeat(257) } }, 512],
    ['a profile key over 120 characters', { type: 'profile', identity: 'u', profileData: { [longKey]: 'x' } }, 512],
    ['Charged Items holding a nested object', event({ evtName: 'Charged', evtData: { Items: [{ sku: { id: 'a' } }] } }), 512],
    [
      'Charged with 257 Items',
      event({ evtName: 'Charged', evtData: { Items: Array.from({ length: 257 }, () => ({ Quantity: 1 })) } }),
      512,
    ],
    ['a bad type and no identity (type is checked first)', { evtName: 'x' }, 524],
    ['no identity and a ms ts (identity is checked first)', event({ identity: undefined, ts: 1_700_000_000_000 }), 523],
  ];

  it.each(cases)('rejects %s, answering partial with its code and record number', async (_, bad, code) => {
    const fake = await start();
    const good = [event({ identity: 'first' }), event({ identity: 'third' })];
    const reply = await upload(fake, [good[0], bad, good[1]]);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      status: 'partial',
      processed: 2,
      unprocessed: [{ status: 'fail', code, error: expect.stringMatching(errorFormat(code, 2)), record: bad }],
    });
    expect(fake.records().map((r) => r.record)).toEqual(good);
  });

  it('words 509 and 513 exactly as CleverTap does', async () => {
    const fake = await start();
    const reply = await upload(fake, [event({ evtName: 'Web Page Viewed' }), event({ evtName: undefined })]);
    expect(reply.json).toMatchObject({
      unprocessed: [
        {
          code: 513,
          error: 'Event Name is incorrect. ErrorCode: 513 - Trying to raise a restricted system event. Skipped record number : 1',
        },
        { code: 509, error: 'Event Name is incorrect. ErrorCode: 509 - Event name is mandatory. Skipped record number : 2' },
      ],
    });
  });

  it.each([
    ['a Charged event with Items', event({ evtName: 'Charged', evtData: { Amount: 9.99, Items: [{ sku: 'a', qty: 1 }] } })],
    ['$-prefixed keys (RevenueCat sends them)', event({ evtData: { $email: 'a@example.com', $clevertapId: 'x' } })],
    ['an event keyed by objectId without ts', { type: 'event', evtName: 'rc_trial_started_event', objectId: '__g123' }],
    ['a date value and nulls', event({ evtData: { expires: '$D_1700000000', cancel_reason: null } })],
    ['exactly 256 properties', event({ evtData: Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`p${i}`, i])) })],
    ['a key of 120 characters and a value of 512 bytes', event({ evtData: { ['k'.repeat(120)]: 'é'.repeat(256) } })],
    [
      'a valid profile',
      { type: 'profile', identity: 'u', ts: 1_700_000_000, profileData: { Gender: 'F', Email: 'a@b.co', Phone: '+33612345678', Age: 31 } },
    ],
    ['a device token', { type: 'token', objectId: '__g123', tokenData: { id: 'tok', type: 'fcm' } }],
    [
      'a profile with a date, an empty and a full multi-value, a boolean and an operator',
      {
        type: 'profile',
        objectId: '__g1',
        profileData: { rc_expires_at: '$D_1700000000', none: [], tags: Array.from({ length: 100 }, String), vip: true, n: { $incr: 1 } },
      },
    ],
  ])('accepts %s', async (_, record) => {
    const fake = await start();
    const reply = await upload(fake, [record]);
    expect(reply.json).toEqual({ status: 'success', processed: 1, unprocessed: [] });
    expect(fake.records().map((r) => r.record)).toEqual([record]);
  });

  it('numbers rejected records from 1 in request order', async () => {
    const fake = await start();
    const records = [event({ ts: 'x' }), event(), event({ evtName: '' }), event(), event({ identity: undefined })];
    const reply = await upload(fake, records);
    const { unprocessed } = reply.json as { unprocessed: { code: number; error: string }[] };
    expect(unprocessed.map((entry) => entry.code)).toEqual([525, 509, 523]);
    unprocessed.forEach((entry, i) => expect(entry.error).toMatch(errorFormat(entry.code, [1, 3, 5][i])));
  });

  it('answers fail with processed 0 when every record is bad, still with HTTP 200', async () => {
    const fake = await start();
    const reply = await upload(fake, [event({ evtName: undefined }), event({ identity: undefined })]);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'fail', processed: 0 });
    expect((reply.json as { unprocessed: unknown[] }).unprocessed).toHaveLength(2);
    expect(fake.records()).toEqual([]);
  });

  it('applies the configured limits: properties, discarded events, oversized values, $ keys', async () => {
    const fake = await start({
      maxProperties: 100,
      discardedEvents: ['Old Event'],
      rejectOversizedProperties: false,
      rejectDollarKeys: true,
    });
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));
    const reply = await upload(fake, [
      event({ evtData: props(101) }),
      event({ evtData: props(100) }),
      event({ evtName: 'old EVENT' }),
      event({ evtData: { note: 'x'.repeat(600) } }),
      event({ evtData: { $email: 'a@example.com' } }),
    ]);
    const { unprocessed } = reply.json as { unprocessed: { code: number; error: string }[] };
    expect(unprocessed.map((entry) => [entry.code, entry.error.slice(-1)])).toEqual([
      [522, '1'],
      [528, '3'],
      [512, '5'],
    ]);
    expect(fake.records()).toHaveLength(2);
  });
});

describe('profiles', () => {
  const profile = (user: Record<string, string>, profileData: Record<string, unknown>) => ({
    type: 'profile',
    ts: 1_700_000_000,
    ...user,
    profileData,
  });

  it('keeps each user’s profile, later records overwriting the keys they name, users and accounts apart', async () => {
    const fake = await start();
    await upload(fake, [profile({ identity: 'u1' }, { rc_subscription_status: 'trial', rc_entitlements: ['pro'] }), event()]);
    await upload(fake, [profile({ identity: 'u1' }, { rc_subscription_status: 'active', rc_entitlements: [] })]);
    await upload(fake, [profile({ objectId: 'u1' }, { rc_subscription_status: 'expired' })]);
    await upload(fake, [profile({ identity: 'u1' }, { rc_subscription_status: 'paused' })], OTHER_AUTH);
    await upload(fake, [profile({ identity: 'u1' }, { rc_subscription_status: 'cancelled' })], AUTH, '/1/upload?dryRun=1');
    await upload(fake, [profile({ identity: 'u1' }, { Gender: 'x', rc_subscription_status: 'grace_period' })]);
    expect(fake.profile({ identity: 'u1' }, ACCOUNT)).toEqual({ rc_subscription_status: 'active', rc_entitlements: [] });
    expect(fake.profile({ objectId: 'u1' }, ACCOUNT)).toEqual({ rc_subscription_status: 'expired' });
    expect(fake.profile({ identity: 'u1' }, OTHER_ACCOUNT)).toEqual({ rc_subscription_status: 'paused' });
    expect(fake.profile({ identity: 'nobody' }, ACCOUNT)).toBeUndefined();
    expect(() => fake.profile({ identity: 'u1' })).toThrow(/several accounts/);
    fake.reset();
    expect(fake.profile({ identity: 'u1' }, ACCOUNT)).toBeUndefined();
  });

  it('finds the profile without naming the account when only one was used', async () => {
    const fake = await start();
    await upload(fake, [profile({ identity: 'u1' }, { rc_subscription_status: 'trial' })]);
    expect(fake.profile({ identity: 'u1' })).toEqual({ rc_subscription_status: 'trial' });
  });
});

describe('storage', () => {
  it('answers success and stores records in order, with request id, account and receive time', async () => {
    const fake = await start();
    const before = Date.now();
    const reply = await upload(fake, [event({ identity: 'a' }), event({ identity: 'b', extra: { kept: true } })]);
    await upload(fake, [event({ identity: 'c' })], OTHER_AUTH);
    expect(reply.json).toEqual({ status: 'success', processed: 2, unprocessed: [] });
    const [first, second] = fake.requests();
    expect(fake.records()).toEqual([
      { requestId: first.id, accountId: ACCOUNT, receivedAt: first.receivedAt, record: event({ identity: 'a' }) },
      { requestId: first.id, accountId: ACCOUNT, receivedAt: first.receivedAt, record: event({ identity: 'b', extra: { kept: true } }) },
      { requestId: second.id, accountId: OTHER_ACCOUNT, receivedAt: second.receivedAt, record: event({ identity: 'c' }) },
    ]);
    expect(first.id).not.toBe(second.id);
    expect(first.receivedAt).toBeGreaterThanOrEqual(before);
  });

  it('stores a record sent twice twice, so a test can catch a double send', async () => {
    const fake = await start();
    await upload(fake, [event()]);
    await upload(fake, [event()]);
    expect(fake.records().map((r) => r.record)).toEqual([event(), event()]);
  });

  it.each(['1', 'true'])('validates but stores nothing for ?dryRun=%s, and logs it as a dry run', async (flag) => {
    const fake = await start();
    const reply = await upload(fake, [event(), event({ evtName: undefined })], AUTH, `/1/upload?dryRun=${flag}`);
    expect(reply.json).toMatchObject({ status: 'partial', processed: 1, unprocessed: [{ code: 509 }] });
    expect(fake.records()).toEqual([]);
    expect(fake.requests()[0]).toMatchObject({ path: '/1/upload', query: { dryRun: flag }, dryRun: true });
  });

  it('logs every request with method, path, query, headers as sent, parsed body and status', async () => {
    const fake = await start();
    const body = { d: [event()] };
    await upload(fake, body.d, AUTH, '/1/upload?x=1');
    await send(fake, { body: 'not json' });
    const [good, bad] = fake.requests();
    expect(good).toMatchObject({ method: 'POST', path: '/1/upload', query: { x: '1' }, body, status: 200, dryRun: false });
    // In process the headers are kept whole, passcode included, so tests can assert exactly what was sent.
    expect(good.headers).toMatchObject(AUTH);
    expect(bad).toMatchObject({ body: 'not json', status: 400 });
  });

  it('reports each settled request to onRequest once', async () => {
    const seen: LoggedRequest[] = [];
    const fake = await start({ onRequest: (r) => seen.push(r) });
    await upload(fake, [event()]);
    await upload(fake, [event()], { ...AUTH, 'x-clevertap-passcode': 'wrong-passcode' });
    expect(seen.map((r) => r.status)).toEqual([200, 401]);
  });

  it('reset() forgets records, requests, faults and peaks', async () => {
    const fake = await start();
    await upload(fake, [event()]);
    fake.inject({ type: 'status', status: 500 });
    fake.reset();
    expect([fake.records(), fake.requests(), fake.maxInFlightSeen()]).toEqual([[], [], 0]);
    expect((await upload(fake, [event()])).status).toBe(200);
  });
});

describe('concurrency', () => {
  it('answers 429 without Retry-After beyond 15 requests in flight for one account', async () => {
    const fake = await start({ latencyMs: 1500 });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => upload(fake, [event({ identity: `u${i}` })])));
    const throttled = replies.filter((r) => r.status === 429);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(15);
    expect(throttled).toHaveLength(5);
    for (const reply of throttled) {
      expect(reply.json).toEqual(TOO_MANY);
      expect(reply.headers['retry-after']).toBeUndefined();
    }
    expect(fake.records()).toHaveLength(15);
    expect(fake.maxInFlightSeen(ACCOUNT)).toBeGreaterThan(15);
    expect((await upload(fake, [event()])).status).toBe(200);
  });

  it('limits each account separately and counts the peak per account and overall', async () => {
    const fake = await start({ maxConcurrent: 1, latencyMs: 1000 });
    const replies = await Promise.all([upload(fake, [event()]), upload(fake, [event()], OTHER_AUTH)]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    expect([fake.maxInFlightSeen(ACCOUNT), fake.maxInFlightSeen(OTHER_ACCOUNT), fake.maxInFlightSeen()]).toEqual([1, 1, 2]);
  });

  it('never throttles a client that waits for each answer, even at a limit of 1', async () => {
    const fake = await start({ maxConcurrent: 1 });
    for (let i = 0; i < 5; i++) expect((await upload(fake, [event()])).status).toBe(200);
    expect(fake.maxInFlightSeen(ACCOUNT)).toBe(1);
  });
});

describe('faults', () => {
  it('plays scripted faults in order, then answers normally again', async () => {
    const fake = await start();
    fake.inject({ type: 'status', status: 500 }, { type: 'status', status: 429 });
    const replies = [await upload(fake, [event()]), await upload(fake, [event()]), await upload(fake, [event()])];
    expect(replies.map((r) => r.status)).toEqual([500, 429, 200]);
    expect(replies[0].json).toEqual({ status: 'fail', error: 'Internal Server Error', code: 500 });
    expect(replies[1].json).toEqual(TOO_MANY);
    expect(fake.records()).toHaveLength(1);
    expect(fake.requests().map((r) => r.fault)).toEqual(['status', 'status', undefined]);
  });

  it('sends a scripted body, content type and headers', async () => {
    const fake = await start();
    const html = '<html><body><h1>502 Bad Gateway</h1></body></html>';
    fake.inject(
      { type: 'status', status: 502, body: html, contentType: 'text/html' },
      { type: 'status', status: 503, body: 'down', headers: { 'Retry-After': '7', 'Content-Type': 'text/plain' } },
    );
    const gateway = await upload(fake, [event()]);
    const unavailable = await upload(fake, [event()]);
    expect([gateway.status, gateway.text, gateway.headers['content-type']]).toEqual([502, html, 'text/html']);
    expect([unavailable.status, unavailable.text, unavailable.headers['retry-after'], unavailable.headers['content-type']]).toEqual([
      503,
      'down',
      '7',
      'text/plain',
    ]);
    expect(fake.records()).toEqual([]);
  });

  it('answers 200 with a body that is not JSON, storing nothing', async () => {
    const fake = await start();
    fake.inject({ type: 'non-json-200' });
    const reply = await upload(fake, [event()]);
    expect(reply.status).toBe(200);
    expect(reply.json).toBeUndefined();
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    expect(fake.records()).toEqual([]);
  });

  it('answers 200 listing the valid records of one type (or all) as unprocessed, with the code asked for or 555, and takes the rest', async () => {
    const fake = await start();
    const profile = { type: 'profile', identity: 'user-1', ts: 1_700_000_000, profileData: { rc_subscription_status: 'active' } };
    const invalid = event({ evtName: '' });
    fake.inject({ type: 'unprocessed', records: 'event' }, { type: 'unprocessed', records: 'profile', code: 512 }, { type: 'unprocessed' });
    const events = await upload(fake, [event(), profile, invalid]);
    expect(events.json).toMatchObject({ status: 'partial', processed: 1 });
    const { unprocessed } = events.json as { unprocessed: { code: number; error: string }[] };
    expect(unprocessed.map((entry) => [entry.code, entry.error.match(/\d+$/)![0]])).toEqual([
      [509, '3'],
      [555, '1'],
    ]);
    expect(unprocessed[1].error).toMatch(errorFormat(555, 1));
    const profiles = await upload(fake, [event(), profile]);
    expect(profiles.json).toMatchObject({ status: 'partial', processed: 1, unprocessed: [{ code: 512, record: profile }] });
    expect((await upload(fake, [event(), profile])).json).toMatchObject({ status: 'fail', processed: 0 });
    expect(fake.records().map((r) => r.record)).toEqual([profile, event()]);
    expect(fake.profile({ identity: 'user-1' })).toEqual({ rc_subscription_status: 'active' });
    expect(() => fake.inject({ type: 'unprocessed', records: 'charged' } as never)).toThrow(FakeCleverTapInputError);
  });

  it('reset-before-store drops the connection and stores nothing', async () => {
    const fake = await start();
    fake.inject({ type: 'reset-before-store' });
    await expect(upload(fake, [event()])).rejects.toThrow();
    expect(fake.records()).toEqual([]);
    expect(fake.requests()[0]).toMatchObject({ status: null, fault: 'reset-before-store' });
  });

  it('reset-after-store stores the records and then drops the connection, so a retry duplicates them', async () => {
    const fake = await start();
    fake.inject({ type: 'reset-after-store' });
    await expect(upload(fake, [event()])).rejects.toThrow();
    expect(fake.records().map((r) => r.record)).toEqual([event()]);
    expect((await upload(fake, [event()])).status).toBe(200);
    expect(fake.records().map((r) => r.record)).toEqual([event(), event()]);
  });

  it('hang never answers, holds its slot, and is ended by close()', async () => {
    const seen: LoggedRequest[] = [];
    const fake = await start({ onRequest: (r) => seen.push(r) });
    fake.inject({ type: 'hang' });
    const hung = upload(fake, [event()]);
    await untilRequests(fake, 1);
    expect((await upload(fake, [event({ identity: 'other' })])).status).toBe(200);
    expect(fake.maxInFlightSeen(ACCOUNT)).toBe(2);
    await fake.close();
    await expect(hung).rejects.toThrow();
    expect(seen.map((r) => [r.status, r.fault])).toEqual([
      [200, undefined],
      [null, 'hang'],
    ]);
  });

  it('leaves faults queued for the next upload that passes routing, credentials and the concurrency limit', async () => {
    const fake = await start();
    fake.inject({ type: 'status', status: 503 });
    expect((await upload(fake, [event()], { ...AUTH, 'x-clevertap-passcode': 'wrong-passcode' })).status).toBe(401);
    expect((await upload(fake, [event()], AUTH, '/1/other')).status).toBe(404);
    expect((await upload(fake, [event()])).status).toBe(503);
  });

  it('injects random faults at the given rates, after scripted ones', async () => {
    const fake = await start();
    const draws = [0.05, 0.3, 0.95, 0.6, 0.75];
    fake.injectRandomly({ status5xx: 0.1, status429: 0.3, hang: 0, resetAfterStore: 0.5 }, () => draws.shift() ?? 0.99);
    fake.inject({ type: 'status', status: 500 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await upload(fake, [event()])).status);
    await expect(upload(fake, [event()])).rejects.toThrow();
    expect(statuses).toEqual([500, 503, 429, 200]);
    expect(fake.records()).toHaveLength(2);
  });

  it('rejects a malformed fault or rates, naming the field', async () => {
    const fake = await start();
    expect(() => fake.inject({ type: 'status', status: 99 })).toThrow(/\[0\]\.status/);
    expect(() => fake.inject({ type: 'status', status: 500, headers: { 'Bad Header': 'x' } })).toThrow(FakeCleverTapInputError);
    expect(() => fake.inject({ type: 'explode' } as never)).toThrow(/\[0\]\.type/);
    expect(() => fake.injectRandomly({ hang: 1.5 })).toThrow(/hang/);
    expect(() => fake.injectRandomly({ hang: 0.6, status5xx: 0.6 })).toThrow(/at most 1/);
  });
});

describe('control API', () => {
  it('shows records and requests over HTTP without ever showing a passcode', async () => {
    const fake = await start();
    await upload(fake, [event({ evtData: { leaked: PASSCODE } })]);
    await upload(fake, [event()], OTHER_AUTH);
    await upload(fake, [event()], { ...AUTH, 'x-clevertap-passcode': 'wrong-but-secret' });

    const records = await send(fake, { method: 'GET', path: '/_fake/records', headers: {} });
    const mine = await send(fake, { method: 'GET', path: `/_fake/records?accountId=${OTHER_ACCOUNT}`, headers: {} });
    const requests = await send(fake, { method: 'GET', path: '/_fake/requests', headers: {} });
    expect(records.json).toHaveLength(2);
    expect(mine.json).toEqual([expect.objectContaining({ accountId: OTHER_ACCOUNT })]);
    expect((requests.json as LoggedRequest[]).map((r) => r.headers['x-clevertap-passcode'])).toEqual([
      '[redacted]',
      '[redacted]',
      '[redacted]',
    ]);
    for (const text of [records.text, mine.text, requests.text]) {
      for (const secret of [PASSCODE, OTHER_PASSCODE, 'wrong-but-secret']) expect(text).not.toContain(secret);
    }
    // A passcode a client leaked into a record still shows that a leak happened.
    expect(records.text).toContain('"leaked":"[redacted]"');
    // Control calls are not CleverTap traffic: they are not logged.
    expect(fake.requests()).toHaveLength(3);
  });

  it('queues faults posted as one object or a list, and refuses bad ones naming the field', async () => {
    const fake = await start();
    const one = await send(fake, { path: '/_fake/faults', body: { type: 'status', status: 503 } });
    const list = await send(fake, { path: '/_fake/faults', body: [{ type: 'non-json-200' }, { type: 'status', status: 429 }] });
    const bad = await send(fake, { path: '/_fake/faults', body: { type: 'status', status: 'soon' } });
    const notJson = await send(fake, { path: '/_fake/faults', body: 'hang' });
    expect([one.json, list.json]).toEqual([{ queued: 1 }, { queued: 2 }]);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: 'Invalid fault', issues: [{ path: 'status' }] });
    expect(notJson.status).toBe(400);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await upload(fake, [event()])).status);
    expect(statuses).toEqual([503, 200, 429, 200]);
  });

  it('resets over HTTP and answers 404/405 for unknown control routes', async () => {
    const fake = await start();
    await upload(fake, [event()]);
    const reset = await send(fake, { path: '/_fake/reset' });
    const unknown = await send(fake, { method: 'GET', path: '/_fake/everything' });
    const wrongMethod = await send(fake, { method: 'GET', path: '/_fake/reset' });
    expect([reset.status, unknown.status, wrongMethod.status]).toEqual([204, 404, 405]);
    expect(wrongMethod.headers['allow']).toBe('POST');
    expect([fake.records(), fake.requests()]).toEqual([[], []]);
  });
});

describe('startFakeCleverTap', () => {
  it('refuses bad options naming the field, without echoing passcodes', async () => {
    await expect(startFakeCleverTap({ maxConcurrent: 0 })).rejects.toThrow(/maxConcurrent/);
    await expect(startFakeCleverTap({ port: 70000 })).rejects.toThrow(/port/);
    const error = await startFakeCleverTap({ accounts: { ACC: ['good-secret-passcode', ''] } }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(FakeCleverTapInputError);
    expect((error as Error).message).toMatch(/accounts\.ACC/);
    expect((error as Error).message).not.toContain('good-secret-passcode');
  });

  it('listens on 127.0.0.1 by default and closes idempotently', async () => {
    const fake = await start();
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await Promise.all([fake.close(), fake.close()]);
    await expect(upload(fake, [event()])).rejects.toThrow();
  });
});
