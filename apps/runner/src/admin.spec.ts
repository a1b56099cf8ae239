import { fixture, startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  ADMIN_TOKEN,
  PASSCODE,
  SECRETS,
  clevertapDestination,
  closeHttp,
  send,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type HttpAnswer,
  type TempDir,
  type TestRunner,
} from './testing/harness';

let dir: TempDir;
let fake: FakeCleverTap;
let t: TestRunner;
/** Every answer the tests saw, searched for secrets at the end. */
const answers: HttpAnswer[] = [];

async function admin(method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<HttpAnswer> {
  const answer = await t.admin(method, pathAndQuery, body);
  answers.push(answer);
  return answer;
}

/** Starts a replay job and waits for it to finish; answers the finished job. */
async function replay(body: unknown) {
  const started = await admin('POST', '/replay', body);
  expect(started.status).toBe(202);
  expect(started.json.job).toMatchObject({ id: expect.any(String), request: body, startedAtMs: expect.any(Number) });
  return waitFor('the replay job to finish', async () => {
    const { job } = (await admin('GET', `/replays/${started.json.job.id}`)).json;
    return job.state !== 'running' && job;
  });
}

const stateOf = async (eventId: string) => (await admin('GET', `/events/${eventId}`)).json.deliveries[0].state;

beforeAll(async () => {
  dir = await tempDir();
  // Renewals are discarded by the account (code 528): they end dead, so there is something to replay.
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, discardedEvents: ['rc_renewal_event'] });
  t = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake)] }));
  for (const name of ['initial_purchase', 'renewal', 'transfer', 'cancellation', 'trial_started'] as const) {
    expect((await t.postWebhook(webhookBody(name))).status).toBe(200);
  }
  await waitFor('the deliveries to settle', async () => {
    const { deliveries } = (await t.admin('GET', '/deliveries')).json;
    return deliveries.every((delivery: { state: string }) => ['delivered', 'dead', 'skipped'].includes(delivery.state));
  });
});

afterAll(async () => {
  await t?.runner.close();
  await fake?.close();
  await closeHttp();
  await dir?.remove();
});

describe('admin API access', () => {
  it('needs the bearer admin token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0000000000', ADMIN_TOKEN, `Basic ${ADMIN_TOKEN}`]) {
      const answer = await send('GET', `${t.runner.url}/admin/events`, undefined, authorization ? { authorization } : {});
      expect(answer.status).toBe(401);
      expect(answer.json.error).toMatch(/Bearer/);
    }
    expect((await admin('GET', '/events')).status).toBe(200);
  });

  it('is disabled without server.adminToken, and says so', async () => {
    const own = await tempDir();
    const runner = await startTestRunner(testConfig(own.path, { server: { adminToken: undefined } }));
    try {
      const answer = await send('GET', `${runner.runner.url}/admin/events`, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual({ error: 'the admin API is disabled: set server.adminToken to enable it' });
    } finally {
      await runner.runner.close();
      await own.remove();
    }
  });
});

describe('listing', () => {
  it('filters events by type, user, delivery state and destination', async () => {
    const types = async (query: string) =>
      (await admin('GET', `/events${query}`)).json.events.map((event: { type: string }) => event.type).sort();
    expect(await types('')).toEqual(['CANCELLATION', 'INITIAL_PURCHASE', 'INITIAL_PURCHASE', 'RENEWAL', 'TRANSFER']);
    expect(await types('?type=RENEWAL')).toEqual(['RENEWAL']);
    expect(await types('?user=user_8f14e45f')).toEqual(['CANCELLATION', 'INITIAL_PURCHASE', 'INITIAL_PURCHASE', 'RENEWAL']);
    expect(await types('?state=dead')).toEqual(['RENEWAL']);
    expect(await types('?state=skipped&destination=clevertap-main')).toEqual(['TRANSFER']);
    expect(await types('?destination=elsewhere')).toEqual([]);
  });

  it('filters by time, ISO or milliseconds', async () => {
    const now = Date.now();
    const count = async (query: string) => (await admin('GET', `/events${query}`)).json.events.length;
    expect(await count(`?since=${now + 60_000}`)).toBe(0);
    expect(await count(`?until=${new Date(now + 60_000).toISOString()}`)).toBe(5);
    expect(await count(`?since=${new Date(now - 3_600_000).toISOString()}&until=${now + 60_000}`)).toBe(5);
  });

  it('pages newest first with a cursor', async () => {
    const seen: string[] = [];
    let query = '?limit=2';
    for (;;) {
      const { events, next } = (await admin('GET', `/events${query}`)).json;
      seen.push(...events.map((event: { id: string }) => event.id));
      if (!next) break;
      query = `?limit=2&before=${encodeURIComponent(next)}`;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('lists deliveries by state and destination', async () => {
    const { deliveries } = (await admin('GET', '/deliveries?state=delivered&destination=clevertap-main')).json;
    expect(deliveries).toHaveLength(3);
    expect(
      deliveries.every((delivery: { state: string; attempts: number }) => delivery.state === 'delivered' && delivery.attempts === 1),
    ).toBe(true);
  });

  it.each([
    ['limit=abc', 'limit'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['state=lost', 'state'],
    ['since=yesterday-ish', 'since'],
    ['until=', 'until'],
    ['color=blue', 'color'],
    ['type=A&type=B', 'type'],
    ['until=99999999999999999999', 'until'],
    ['before=no-such-row', 'before'],
    ['source=', 'source'],
    ['source=two%20words', 'source'],
    ['source=..%2Fwebhooks', 'source'],
  ])('answers 400 naming the parameter for ?%s', async (query, parameter) => {
    for (const list of ['/events', '/deliveries']) {
      const answer = await admin('GET', `${list}?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({ error: 'invalid query', issues: [expect.objectContaining({ path: parameter })] });
    }
  });
});

describe('one event', () => {
  it('shows every delivery with every attempt', async () => {
    const id = fixture('renewal').webhook.event.id as string;
    const event = (await admin('GET', `/events/${id}`)).json;
    expect(event).toMatchObject({ id, type: 'RENEWAL', kind: 'renewal', userId: 'user_8f14e45f', environment: 'PRODUCTION' });
    expect(event.webhook).toEqual(fixture('renewal').webhook);
    expect(event.deliveries).toEqual([
      expect.objectContaining({
        destinationId: 'clevertap-main',
        state: 'dead',
        attempts: 1,
        lastError: expect.stringMatching(/528/),
        attemptLog: [expect.objectContaining({ number: 1, outcome: 'rejected', status: 200 })],
      }),
    ]);
  });

  it('rebuilds, per delivery, the request its destination sent, secrets redacted', async () => {
    const id = fixture('initial_purchase').webhook.event.id as string;
    const [delivery] = (await admin('GET', `/events/${id}`)).json.deliveries;
    expect(delivery.state).toBe('delivered');
    const [request] = delivery.requests;
    expect(request).toMatchObject({ method: 'POST', url: expect.stringContaining(fake.url), deliveryIds: [delivery.id] });
    expect(JSON.stringify(request)).not.toContain(PASSCODE);
    // The engine may have batched it with other events: the rebuilt records are among those sent.
    const rebuilt = JSON.parse(request.body).d as unknown[];
    expect(rebuilt.length).toBeGreaterThan(0);
    const sentRecords = fake.records().map((stored) => stored.record);
    expect(sentRecords).toEqual(expect.arrayContaining(rebuilt));
    const transfer = (await admin('GET', `/events/${fixture('transfer').webhook.event.id}`)).json;
    expect(transfer.deliveries[0]).toMatchObject({ state: 'skipped', requests: [] });
  });

  it('answers 404 for an unknown id', async () => {
    const answer = await admin('GET', '/events/no-such-event');
    expect(answer.status).toBe(404);
    expect(answer.json.error).toMatch(/no-such-event/);
  });
});

describe('replay', () => {
  it('by delivery id makes a dead delivery pending again; it is retried and its attempts add up', async () => {
    const eventId = fixture('renewal').webhook.event.id as string;
    const [dead] = (await admin('GET', `/deliveries?state=dead`)).json.deliveries;
    expect(await replay({ deliveryIds: [dead.id] })).toMatchObject({ state: 'done', replayed: 1, finishedAtMs: expect.any(Number) });
    const event = await waitFor('the second attempt', async () => {
      const detail = (await admin('GET', `/events/${eventId}`)).json;
      return detail.deliveries[0].attemptLog.length === 2 && detail.deliveries[0].state === 'dead' && detail;
    });
    expect(event.deliveries[0].attempts).toBe(2);
  });

  it('by event id and by time window with states, skipped included', async () => {
    const transfer = fixture('transfer').webhook.event.id as string;
    expect(await replay({ eventIds: [transfer], states: ['skipped'] })).toMatchObject({ state: 'done', replayed: 1 });
    await waitFor('the transfer to be skipped again', async () => (await stateOf(transfer)) === 'skipped');
    const window = {
      from: new Date(Date.now() - 3_600_000).toISOString(),
      to: Date.now() + 60_000,
      destination: 'clevertap-main',
      states: ['skipped'],
    };
    expect(await replay(window)).toMatchObject({ state: 'done', replayed: 1 });
    await waitFor('the transfer to be skipped again', async () => (await stateOf(transfer)) === 'skipped');
    expect(await replay({ ...window, states: ['delivered'], to: Date.now() - 3_000_000 })).toMatchObject({ state: 'done', replayed: 0 });
  });

  it("lists this runner's jobs newest first, and answers 404 for an unknown job", async () => {
    const first = await replay({ eventIds: ['no-such-event'] });
    const second = await replay({ eventIds: ['no-such-event-either'] });
    const { jobs } = (await admin('GET', '/replays')).json;
    expect(jobs.slice(0, 2).map((job: { id: string }) => job.id)).toEqual([second.id, first.id]);
    const unknown = await admin('GET', '/replays/no-such-job');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/no-such-job/);
  });

  it.each([
    [{}, '(root)'],
    [{ deliveryIds: [] }, 'deliveryIds'],
    [{ deliveryIds: ['a'], eventIds: ['b'] }, '(root)'],
    [{ from: 'not a time', to: 1 }, 'from'],
    [{ from: 1 }, 'to'],
    [{ from: 10, to: 5 }, 'to'],
    [{ eventIds: ['a'], states: ['pending'] }, 'states[0]'],
    [{ eventIds: ['a'], everything: true }, 'everything'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const answer = await admin('POST', '/replay', body);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('invalid replay request');
    expect(answer.json.issues.map((issue: { path: string }) => issue.path)).toContain(field);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const answer = await send('POST', `${t.runner.url}/admin/replay`, '{"deliveryIds": [', {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'invalid JSON body' });
  });
});

describe('preview', () => {
  it('returns the exact request per destination with secrets redacted, storing and sending nothing', async () => {
    const eventsBefore = (await t.runner.store.log.stats(Date.now())).events;
    const requestsBefore = fake.requests().length;
    const webhook = { ...fixture('initial_purchase').webhook, event: { ...fixture('initial_purchase').webhook.event, id: 'preview-only' } };
    const answer = await admin('POST', '/preview', webhook);
    expect(answer.status).toBe(200);
    expect(answer.json.event).toEqual({
      id: 'preview-only',
      source: 'revenuecat',
      type: 'INITIAL_PURCHASE',
      kind: 'initial_purchase',
      environment: 'PRODUCTION',
      appUserId: 'user_8f14e45f',
    });
    const [destination] = answer.json.destinations;
    expect(destination).toMatchObject({ destinationId: 'clevertap-main', plugin: 'clevertap', status: 'send' });
    const [request] = destination.requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`${fake.url}/1/upload`);
    expect(request.headers).toEqual({
      'X-CleverTap-Account-Id': ACCOUNT_ID,
      'X-CleverTap-Passcode': '[redacted]',
      'Content-Type': 'application/json; charset=utf-8',
    });
    const body = JSON.parse(request.body);
    expect(body.d).toEqual([
      expect.objectContaining({ type: 'event', evtName: 'rc_initial_purchase_event', objectId: 'a1b2c3d4e5f6478890abcdef12345678' }),
    ]);
    expect((await t.runner.store.log.stats(Date.now())).events).toBe(eventsBefore);
    expect(fake.requests()).toHaveLength(requestsBefore);
  });

  it('says why a destination would skip, and rejects an invalid webhook with its paths', async () => {
    const skip = await admin('POST', '/preview', fixture('transfer').webhook);
    expect(skip.json.destinations).toEqual([
      { destinationId: 'clevertap-main', plugin: 'clevertap', status: 'skip', rule: 'transfer_not_supported', reason: expect.any(String) },
    ]);
    const invalid = await admin('POST', '/preview', { api_version: '1.0', event: { id: 'x' } });
    expect(invalid.status).toBe(400);
    expect(invalid.json.issues.map((issue: { path: string }) => issue.path)).toEqual(['event.type', 'event.event_timestamp_ms']);
  });
});

describe('metrics', () => {
  it('count webhooks, deliveries by state, attempt latency, queue depth, oldest pending age and pauses', async () => {
    await t.postWebhook('not json');
    const answer = await send('GET', `${t.runner.url}/metrics`);
    answers.push(answer);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain/);
    const text = answer.text;
    expect(text).toMatch(/^ferry_webhooks_total\{source="revenuecat",outcome="stored"\} 5$/m);
    expect(text).toMatch(/^ferry_webhooks_total\{source="revenuecat",outcome="invalid"\} [1-9]\d*$/m);
    expect(text).toMatch(/^ferry_deliveries\{destination="clevertap-main",state="delivered"\} 3$/m);
    expect(text).toMatch(/^ferry_deliveries\{destination="clevertap-main",state="dead"\} 1$/m);
    expect(text).toMatch(/^ferry_deliveries\{destination="clevertap-main",state="skipped"\} 1$/m);
    expect(text).toMatch(/^ferry_delivery_attempt_duration_seconds_count\{destination="clevertap-main",outcome="delivered"\} [1-9]\d*$/m);
    expect(text).toMatch(/^ferry_delivery_outcomes_total\{destination="clevertap-main",outcome="rejected"\} [1-9]\d*$/m);
    expect(text).toMatch(/^ferry_queue_depth\{destination="clevertap-main"\} 0$/m);
    expect(text).toMatch(/^ferry_oldest_pending_age_seconds\{destination="clevertap-main"\} 0$/m);
    for (const cause of ['operator', 'credentials', 'configuration'])
      expect(text).toMatch(new RegExp(`^ferry_destination_paused\\{destination="clevertap-main",cause="${cause}"\\} 0$`, 'm'));
    expect(text).toMatch(/^ferry_events_stored 5$/m);
  });

  it('health and readiness answer', async () => {
    expect((await send('GET', `${t.runner.url}/healthz`)).json).toEqual({ status: 'ok' });
    expect((await send('GET', `${t.runner.url}/readyz`)).json).toEqual({ status: 'ready' });
  });
});

describe('secrets', () => {
  it('never appear in logs, metrics or admin output, even when CleverTap echoes one back', async () => {
    fake.inject({
      type: 'status',
      status: 400,
      body: `{"status":"fail","error":"bad passcode ${PASSCODE}"}`,
      contentType: 'application/json',
    });
    const id = 'echo-secret';
    await t.postWebhook(webhookBody('initial_purchase', { id }));
    const event = await waitFor('the rejection', async () => {
      const detail = await admin('GET', `/events/${id}`);
      return detail.json.deliveries[0].state === 'dead' && detail;
    });
    expect(event.json.deliveries[0].lastError).toContain('[redacted]');
    await admin('GET', '/deliveries?state=dead');
    await admin('GET', '/destinations');
    await admin('GET', '/sources');
    await admin('POST', '/preview', fixture('sandbox_initial_purchase').webhook);
    answers.push(await send('GET', `${t.runner.url}/metrics`));

    const logs = t.logs.text();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of SECRETS) {
      expect(logs).not.toContain(secret);
      for (const answer of answers) expect(answer.text).not.toContain(secret);
    }
  });
});

describe('orphans: deliveries of a destination no longer configured', () => {
  /** Two events whose deliveries went to destinations since removed from the config, as ingest stored them then. */
  beforeAll(async () => {
    const body = (id: string) => webhookBody('initial_purchase', { id });
    for (const id of ['orphan-1', 'orphan-2']) {
      const event = fixture('initial_purchase').webhook.event;
      await t.runner.store.queue.ingest(
        {
          id,
          source: 'revenuecat',
          type: 'INITIAL_PURCHASE',
          kind: 'initial_purchase',
          userId: event.app_user_id as string,
          productId: null,
          environment: 'PRODUCTION',
          timestampMs: Date.now(),
          body: body(id),
        },
        [
          { destinationId: 'removed-crm', state: 'pending' },
          { destinationId: 'removed-analytics', state: 'paused', reason: 'settings.apiKey' },
        ],
        Date.now(),
      );
    }
  });

  it('are listed with counts by state, beside /admin/destinations which keeps its shape, and counted in metrics', async () => {
    const { orphans } = (await admin('GET', '/orphans')).json;
    expect(orphans).toEqual([
      { destinationId: 'removed-analytics', deliveries: expect.objectContaining({ paused: 2, pending: 0, skipped: 0 }) },
      { destinationId: 'removed-crm', deliveries: expect.objectContaining({ pending: 2, paused: 0, skipped: 0 }) },
    ]);
    const { destinations } = (await admin('GET', '/destinations')).json;
    expect(destinations.map((destination: { id: string }) => destination.id)).toEqual(['clevertap-main']);
    const metrics = await send('GET', `${t.runner.url}/metrics`);
    expect(metrics.text).toMatch(/^ferry_orphaned_deliveries\{destination="removed-crm",state="pending"\} 2$/m);
    expect(metrics.text).toMatch(/^ferry_orphaned_deliveries\{destination="removed-analytics",state="paused"\} 2$/m);
  });

  it('are dropped as skipped with rule destination_removed, still visible', async () => {
    expect((await admin('POST', '/orphans/removed-analytics/drop')).json).toEqual({ dropped: 2 });
    const detail = (await admin('GET', '/events/orphan-1')).json;
    expect(detail.deliveries.find((d: { destinationId: string }) => d.destinationId === 'removed-analytics')).toMatchObject({
      state: 'skipped',
      lastError: expect.stringMatching(/^destination_removed: /),
    });
    const { orphans } = (await admin('GET', '/orphans')).json;
    expect(orphans[0]).toMatchObject({
      destinationId: 'removed-analytics',
      deliveries: expect.objectContaining({ paused: 0, skipped: 2 }),
    });
  });

  it('are reassigned to a configured destination, which delivers them', async () => {
    expect((await admin('POST', '/orphans/removed-crm/reassign', { to: 'clevertap-main' })).json).toEqual({ reassigned: 2, kept: 0 });
    await waitFor('the reassigned deliveries to be delivered', async () => {
      const detail = (await admin('GET', '/events/orphan-2')).json;
      return detail.deliveries.some(
        (d: { destinationId: string; state: string }) => d.destinationId === 'clevertap-main' && d.state === 'delivered',
      );
    });
  });

  it.each([
    ['/orphans/removed-crm/reassign', { to: 'nowhere' }, 'to'],
    ['/orphans/removed-crm/reassign', {}, 'to'],
    ['/orphans/removed-crm/reassign', { to: 'clevertap-main', also: 1 }, 'also'],
    ['/orphans/clevertap-main/reassign', { to: 'clevertap-main' }, 'destinationId'],
    ['/orphans/clevertap-main/drop', undefined, 'destinationId'],
  ])('%s answers 400 naming the field for %j', async (path, body, field) => {
    const answer = await admin('POST', path, body);
    expect(answer.status).toBe(400);
    expect(answer.json.issues.map((issue: { path: string }) => issue.path)).toContain(field);
  });
});

describe('sources: events carry the source that received them', () => {
  /** Two events stored as another source would store them (this runner serves only revenuecat). */
  beforeAll(async () => {
    for (const id of ['android-1', 'android-2']) {
      const event = fixture('initial_purchase').webhook.event;
      await t.runner.store.queue.ingest(
        {
          id,
          source: 'android',
          type: 'INITIAL_PURCHASE',
          kind: 'initial_purchase',
          userId: event.app_user_id as string,
          productId: null,
          environment: 'PRODUCTION',
          timestampMs: Date.now(),
          body: webhookBody('initial_purchase', { id }),
        },
        [{ destinationId: 'clevertap-main', state: 'skipped', reason: 'route: source android is not routed to clevertap-main' }],
        Date.now(),
      );
    }
  });

  /** Every event of a listing, page by page. */
  async function everyEvent(query: string): Promise<{ id: string; source: string }[]> {
    const all: { id: string; source: string }[] = [];
    for (let before = ''; ;) {
      const { events, next } = (await admin('GET', `/events?limit=500${query}${before}`)).json;
      all.push(...events);
      if (!next) return all;
      before = `&before=${encodeURIComponent(next)}`;
    }
  }

  it('?source= lists the events, and the deliveries of events, of that source only', async () => {
    const android = (await admin('GET', '/events?source=android')).json.events;
    expect(android.map((event: { id: string; source: string }) => `${event.id}/${event.source}`)).toEqual([
      'android-2/android',
      'android-1/android',
    ]);
    const revenuecat = await everyEvent('&source=revenuecat');
    expect(revenuecat.length).toBeGreaterThanOrEqual(5);
    expect(revenuecat.every((event) => event.source === 'revenuecat')).toBe(true);
    expect((await everyEvent('')).length).toBe(revenuecat.length + 2);

    const deliveries = (await admin('GET', '/deliveries?source=android&state=skipped')).json.deliveries;
    expect(deliveries.map((delivery: { eventId: string }) => delivery.eventId)).toEqual(['android-2', 'android-1']);
    expect((await admin('GET', '/deliveries?source=android&state=delivered')).json.deliveries).toEqual([]);
  });

  it('an unknown but well-formed source matches nothing', async () => {
    for (const list of ['/events', '/deliveries']) {
      const answer = await admin('GET', `${list}?source=ios`);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ [list.slice(1)]: [] });
    }
  });

  it('GET /admin/sources lists each configured source with its webhook path and its stored events', async () => {
    const stored = (await everyEvent('&source=revenuecat')).length;
    const answer = await admin('GET', '/sources');
    expect(answer.status).toBe(200);
    // android is not configured here: its events are listed by ?source=, not as a source. Duplicate and
    // rejected come from this runner's own webhook counts.
    expect(answer.json).toEqual({
      sources: [
        { id: 'revenuecat', plugin: 'revenuecat', webhookPath: '/webhooks/revenuecat', counts: expect.objectContaining({ stored }) },
      ],
    });
    const before = (await admin('GET', '/sources')).json.sources[0].counts;
    expect(typeof before.duplicate).toBe('number');
    expect(typeof before.rejected).toBe('number');
    expect((await t.postWebhook(webhookBody('renewal', { id: 'sources-new' }))).status).toBe(200);
    expect((await t.postWebhook(webhookBody('renewal', { id: 'sources-new' }))).status).toBe(200);
    expect((await t.postWebhook('{"event": {}}')).status).toBe(400);
    expect((await admin('GET', '/sources')).json.sources[0].counts).toEqual({
      stored: stored + 1,
      duplicate: before.duplicate + 1,
      rejected: before.rejected + 1,
    });
  });
});
