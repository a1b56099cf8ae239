import { Readable } from 'node:stream';
import { StoreInputError } from '@ferry/core';
import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  WEBHOOK_AUTHORIZATION,
  clevertapDestination,
  closeHttp,
  send,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type CleverTapRecordShape,
  type TempDir,
  type TestRunner,
} from './testing/harness';

const BODY_LIMIT = 16 * 1024;
let dir: TempDir;
let fake: FakeCleverTap;
let t: TestRunner;

beforeAll(async () => {
  dir = await tempDir();
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
  t = await startTestRunner(testConfig(dir.path, { server: { bodyLimitBytes: BODY_LIMIT }, destinations: [clevertapDestination(fake)] }));
});

afterAll(async () => {
  await t?.runner.close();
  await fake?.close();
  await closeHttp();
  await dir?.remove();
});

const storedEvents = async () => (await t.runner.store.log.stats(Date.now())).events;
let sequence = 0;
/** A valid webhook with a fresh id, and an attribute that shows up in the CleverTap record. */
const freshWebhook = (name: Parameters<typeof webhookBody>[0] = 'renewal') => {
  const id = `ingest-${++sequence}-${Date.now()}`;
  return { id, body: webhookBody(name, { id, subscriber_attributes: { probe: { value: id, updated_at_ms: 1 } } }) };
};
const recordsFor = (id: string) => fake.records().filter((stored) => (stored.record as CleverTapRecordShape).evtData.probe === id);

describe('a valid webhook', () => {
  it('is answered 200 once stored, and delivered', async () => {
    const { id, body } = freshWebhook();
    const answer = await t.postWebhook(body);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: 'stored', id });
    // 200 means committed: the event is readable from the store right away.
    expect(await t.runner.store.log.getEvent(id)).toMatchObject({ id, type: 'RENEWAL', userId: 'user_8f14e45f' });
    await waitFor('the record at CleverTap', () => recordsFor(id).length === 1);
  });

  it('accepts a JSON content type with parameters and an unknown type (stored, sent nowhere)', async () => {
    const id = `unknown-${Date.now()}`;
    const answer = await t.postWebhook(webhookBody('unknown_type', { id }), { 'content-type': 'application/json; charset=utf-8' });
    expect(answer.status).toBe(200);
    const event = await t.runner.store.log.getEvent(id);
    expect(event?.deliveries).toEqual([
      expect.objectContaining({ state: 'skipped', lastError: expect.stringMatching(/^unsupported_type: /) }),
    ]);
  });

  it('is idempotent on event.id: repeats, even concurrent ones, answer duplicate and are delivered once', async () => {
    const { id, body } = freshWebhook();
    const answers = await Promise.all(Array.from({ length: 8 }, () => t.postWebhook(body)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200));
    const statuses = answers.map((answer) => answer.json.status).sort();
    expect(statuses).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'stored']);
    await waitFor('the delivery', async () => (await t.runner.store.log.getEvent(id))?.deliveries[0].state === 'delivered');
    expect((await t.postWebhook(body)).json).toEqual({ status: 'duplicate', id });
    // Everything before this point has been delivered: a second record would already have arrived.
    const { id: laterId, body: later } = freshWebhook();
    await t.postWebhook(later);
    await waitFor('a later event', () => recordsFor(laterId).length === 1);
    expect(recordsFor(id)).toHaveLength(1);
  });
});

describe('bad input', () => {
  const valid = () => freshWebhook().body;
  const json = { 'content-type': 'application/json' };
  type Make = () => { body?: string | Buffer | Readable; headers?: Record<string, string | undefined> };
  const cases: [string, number, RegExp | string, Make][] = [
    ['no Authorization header', 401, /Authorization/, () => ({ body: valid(), headers: { authorization: undefined } })],
    ['a wrong Authorization value', 401, /Authorization/, () => ({ body: valid(), headers: { authorization: 'Bearer nope' } })],
    [
      'the right token in another case',
      401,
      /Authorization/,
      () => ({ body: valid(), headers: { authorization: WEBHOOK_AUTHORIZATION.toUpperCase() } }),
    ],
    ['text/plain', 415, 'Content-Type must be application/json', () => ({ body: valid(), headers: { 'content-type': 'text/plain' } })],
    ['a form', 415, /Content-Type/, () => ({ body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
    ['multipart', 415, /Content-Type/, () => ({ body: valid(), headers: { 'content-type': 'multipart/form-data; boundary=x' } })],
    ['no content type', 415, /Content-Type/, () => ({ body: valid(), headers: { 'content-type': undefined } })],
    ['no body at all', 415, /Content-Type/, () => ({ headers: { 'content-type': undefined } })],
    ['an empty JSON body', 400, 'invalid JSON', () => ({ body: '', headers: json })],
    ['invalid JSON', 400, 'invalid JSON', () => ({ body: '{"api_version": "1.0", "event": {', headers: json })],
    ['invalid UTF-8', 400, 'invalid JSON', () => ({ body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers: json })],
    ['a JSON array', 400, 'invalid webhook', () => ({ body: '[]', headers: json })],
    ['JSON null', 400, 'invalid webhook', () => ({ body: 'null', headers: json })],
    ['no event', 400, 'invalid webhook', () => ({ body: '{"api_version": "1.0"}', headers: json })],
    [
      'a body over the limit',
      413,
      `body over the limit of ${BODY_LIMIT} bytes`,
      () => ({ body: 'x'.repeat(BODY_LIMIT + 1), headers: json }),
    ],
    [
      'a chunked body over the limit',
      413,
      /limit/,
      () => ({ body: Readable.from([Buffer.alloc(BODY_LIMIT), Buffer.alloc(10)]), headers: json }),
    ],
    ['a huge body', 413, /limit/, () => ({ body: Buffer.alloc(8 * 1024 * 1024, 0x20), headers: json })],
  ];

  it.each(cases)('%s → %i with a JSON error, nothing stored', async (_name, status, error, make) => {
    const before = await storedEvents();
    const { body, headers = {} } = make();
    const answer = await post(body, headers);
    expect(answer.status).toBe(status);
    if (typeof error === 'string') expect(answer.json.error).toBe(error);
    else expect(answer.json.error).toMatch(error);
    expect(await storedEvents()).toBe(before);
  });

  it('names the wrong fields with their paths', async () => {
    const missingType = JSON.stringify({ api_version: '1.0', event: { id: 'no-type', event_timestamp_ms: 1 } });
    const answer = await t.postWebhook(missingType);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'invalid webhook', issues: [{ path: 'event.type', message: 'required' }] });

    const wrongTypes = JSON.stringify({ event: { id: 5, type: 'RENEWAL', event_timestamp_ms: 'yesterday' } });
    const issues = (await t.postWebhook(wrongTypes)).json.issues.map((issue: { path: string }) => issue.path);
    expect(issues).toEqual(['event.id', 'event.event_timestamp_ms']);

    const broken = await t.postWebhook('{"event": tru');
    expect(broken.json.issues).toEqual([{ path: '(body)', message: expect.any(String) }]);
  });

  it('takes prototype-poisoning keys as plain data', async () => {
    const id = `proto-${Date.now()}`;
    const body = webhookBody('renewal', { id })
      .replace('"event":{', '"event":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},')
      .replace('"subscriber_attributes":{', '"subscriber_attributes":{"__proto__":{"value":"x","updated_at_ms":1},');
    expect((await post(body, json)).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await waitFor('its delivery', async () => (await t.runner.store.log.getEvent(id))?.deliveries[0].state === 'delivered');
  });

  it('answers other paths and methods with a JSON 404', async () => {
    expect((await send('GET', `${t.runner.url}/webhooks/revenuecat`)).status).toBe(404);
    expect((await send('POST', `${t.runner.url}/webhooks`, '{}', { 'content-type': 'application/json' })).json).toEqual({
      error: 'not found',
    });
    // A source id no source has: 404 before anything else, the credential not even checked.
    const answer = await send('POST', `${t.runner.url}/webhooks/other`, '{}', { 'content-type': 'application/json' });
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({
      error: 'no source is configured with this id: webhooks go to POST /webhooks/<id> of a configured source',
    });
  });
});

describe('a webhook the store or a destination cannot keep as it is', () => {
  const withEvent = (fields: Record<string, unknown>) => {
    const { id, body } = freshWebhook();
    const webhook = JSON.parse(body);
    // JSON.stringify cannot write the deep array (it recurses): it goes in as text.
    return JSON.stringify({ ...webhook, event: { ...webhook.event, id, ...fields } }).replace(`"${DEEP}"`, deepArray);
  };
  const DEEP = '(5,000 nested arrays)';
  const deepArray = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
  const long = 'x'.repeat(3_000);
  const mustBeMs = 'must be whole milliseconds within the range of a date';
  it.each([
    ['an id of 3,000 characters', { id: long }, 'event.id', 'must be at most 512 characters'],
    ['a type of 3,000 characters', { type: long }, 'event.type', 'must be at most 512 characters'],
    ['a user id of 3,000 characters', { app_user_id: long }, 'event.app_user_id', 'must be at most 512 characters'],
    ['a fractional timestamp', { event_timestamp_ms: 1740823202000.5 }, 'event.event_timestamp_ms', mustBeMs],
    ['a timestamp of 1e19', { event_timestamp_ms: 1e19 }, 'event.event_timestamp_ms', mustBeMs],
    ['a timestamp of 1e21', { event_timestamp_ms: 1e21 }, 'event.event_timestamp_ms', mustBeMs],
    ['a price of 1e308', { price_in_purchased_currency: 1e308 }, 'event.price_in_purchased_currency', 'must be at most 1000000000000'],
    ['an unknown field nested 5,000 deep', { deep: DEEP }, 'event.deep', 'nested deeper than 32 levels'],
  ])('refuses %s with a 400 naming the field, storing nothing', async (_case, fields, path, message) => {
    const before = await storedEvents();
    const answer = await t.postWebhook(withEvent(fields));
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'invalid webhook', issues: [{ path, message }] });
    expect(await storedEvents()).toBe(before);
  });

  it('keeps an id of 512 characters, which the admin API then finds by id', async () => {
    const stamp = `${Date.now()}`;
    // 512 characters, astral ones: the longest id, percent-encoded (12 per character) in the path.
    const id = stamp + '😀'.repeat(512 - stamp.length);
    expect((await t.postWebhook(withEvent({ id }))).json).toEqual({ status: 'stored', id });
    const answer = await t.admin('GET', `/events/${encodeURIComponent(id)}`);
    expect(answer.status).toBe(200);
    expect(answer.json.id).toBe(id);
  });
});

/** Posts to the webhook with the right authorization unless `headers` overrides it (undefined removes a header). */
function post(body: string | Buffer | Readable | undefined, headers: Record<string, string | undefined>) {
  const merged = Object.entries({ authorization: WEBHOOK_AUTHORIZATION, ...headers }).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  return send('POST', `${t.runner.url}/webhooks/revenuecat`, body, Object.fromEntries(merged));
}

describe('when the runner cannot take events', () => {
  let own: TempDir;
  beforeEach(async () => {
    own = await tempDir();
  });
  afterEach(() => own.remove());

  it('answers 503 while shutting down, and readiness says so', async () => {
    const runner = await startTestRunner(testConfig(own.path));
    // Hold the dispatcher's drain, so the runner stays in its shutting-down phase while we ask.
    const dispatcher = runner.runner.dispatcher;
    const stop = dispatcher.stop.bind(dispatcher);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    dispatcher.stop = async () => {
      await held;
      await stop();
    };
    const closing = runner.runner.close();
    try {
      const answer = await runner.postWebhook(freshWebhook().body);
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({ error: 'shutting down' });
      expect(answer.headers['retry-after']).toBe('5');
      const ready = await send('GET', `${runner.runner.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.json).toEqual({ status: 'shutting down' });
    } finally {
      release();
      await closing;
    }
  });

  it('answers 400, not 503, when the store refuses the event for its values, and logs what the store said', async () => {
    const runner = await startTestRunner(testConfig(own.path));
    const store = runner.runner.store;
    const ingest = store.queue.ingest.bind(store.queue);
    store.queue.ingest = async () => {
      throw new StoreInputError('the store cannot keep this event as it is', undefined, {
        cause: new Error('index row size 3104 exceeds'),
      });
    };
    try {
      const answer = await runner.postWebhook(freshWebhook().body);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({
        error: 'invalid webhook',
        issues: [{ path: 'event', message: 'the store cannot keep this event as it is' }],
      });
      expect(runner.logs.text()).toContain('index row size 3104 exceeds');
    } finally {
      store.queue.ingest = ingest;
      await runner.runner.close();
    }
  });

  it('answers 503 when the store is unavailable, and readiness says so', async () => {
    const runner = await startTestRunner(testConfig(own.path));
    const store = runner.runner.store;
    const failure = async () => {
      throw new Error('disk on fire');
    };
    const ingest = store.queue.ingest.bind(store.queue);
    const ping = store.ping.bind(store);
    store.queue.ingest = failure;
    store.ping = failure;
    try {
      const answer = await runner.postWebhook(freshWebhook().body);
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({ error: 'store unavailable' });
      const ready = await send('GET', `${runner.runner.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.json).toEqual({ status: 'store unavailable' });
      expect(runner.logs.text()).toContain('disk on fire');
    } finally {
      store.queue.ingest = ingest;
      store.ping = ping;
      await runner.runner.close();
    }
  });
});
