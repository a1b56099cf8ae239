import type { ServerResponse } from 'node:http';
import { ingestEventOf, type Planned, type RequestContext, type RetryPolicy } from '@ferry/core';
import { MemoryDatabase, MemoryStore } from '@ferry/testkit';
import { composeStore, planDeliveries } from './index';
import { sendJson, waitFor, type ReceivedRequest, type TestServer } from './testing/http-server';
import { apiKey, manualClock, ok, runCleanups, server, setup, T0 } from './testing/dispatcher-harness';
import { encodeEvent, makeEvent, testDestination, testPlugin } from './testing/test-plugin';

afterEach(runCleanups);

const itemsOf = (request: ReceivedRequest): { delivery: string; user: string }[] => JSON.parse(request.body).items;

describe('Dispatcher: batching', () => {
  it('sends a lone event on notify without waiting for a full batch or a poll', async () => {
    const destination = await server(ok);
    const { store, dispatcher, ingest, allIn } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
      options: { pollMs: 10 * 60_000 }, // only notify can wake it in time
    });
    dispatcher.start();
    const event = await ingest();

    await waitFor(allIn('main', 'delivered'), 'the lone event to be delivered');
    expect(destination.received).toHaveLength(1);
    expect(itemsOf(destination.received[0]).map((item) => item.user)).toEqual([event.appUserId]);
    expect(destination.received[0].headers['x-api-key']).toBe(apiKey);
    const row = store.row(event.id, 'main');
    expect(row).toMatchObject({ attempts: 1, lastStatus: 200, lastError: null });
    expect(row.attemptLog).toEqual([expect.objectContaining({ outcome: 'delivered', status: 200, error: null })]);
  });

  it('batches up to the plugin maxItems and writes each batch in one store call', async () => {
    const destination = await server(ok);
    const store = new MemoryStore();
    const { dispatcher, ingest, allIn, attempts } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey }, { plugin: testPlugin({ maxItems: 5 }), concurrency: 1 })],
      store,
    });
    for (let i = 0; i < 12; i += 1) await ingest();
    dispatcher.start();

    await waitFor(allIn('main', 'delivered'), 'all twelve to be delivered');
    expect(destination.received.map((request) => itemsOf(request).length)).toEqual([5, 5, 2]);
    expect(store.completions.map((updates) => updates.length)).toEqual([5, 5, 2]);
    expect(attempts).toEqual([
      { destinationId: 'main', outcome: 'delivered', deliveries: 5 },
      { destinationId: 'main', outcome: 'delivered', deliveries: 5 },
      { destinationId: 'main', outcome: 'delivered', deliveries: 2 },
    ]);
  });

  it('lets a partial batch linger for company before sending it', async () => {
    const destination = await server(ok);
    const { dispatcher, ingest, allIn } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
      options: { lingerMs: 500, pollMs: 10 * 60_000 },
    });
    dispatcher.start();
    for (let i = 0; i < 4; i += 1) await ingest();

    await waitFor(allIn('main', 'delivered'), 'the four events to be delivered');
    expect(destination.received.map((request) => itemsOf(request).length)).toEqual([4]);
  });

  it("gives the plugin each delivery's stored webhook body and the clock's time of sending", async () => {
    const destination = await server(ok);
    const plugin = testPlugin();
    const seen: { batch: readonly Planned[]; context?: RequestContext }[] = [];
    const recording: typeof plugin = {
      ...plugin,
      buildRequests: (batch, settings, context) => {
        seen.push({ batch, context });
        return plugin.buildRequests(batch, settings, context);
      },
    };
    const main = testDestination('main', { url: destination.url, apiKey });
    const { store, dispatcher, allIn } = setup({ destinations: [{ ...main, plugin: recording }], clock: manualClock() });
    const event = makeEvent();
    const stored = encodeEvent(event);
    await store.queue.ingest(ingestEventOf(event, stored), planDeliveries(event, [main]), T0);
    dispatcher.start();

    await waitFor(allIn('main', 'delivered'), 'delivery');
    expect(seen.map(({ batch, context }) => [batch.map((p) => p.webhookBody), context])).toEqual([[[stored], { nowMs: T0 }]]);
  });

  it('logs what the plugin left out of a request, and still sends it', async () => {
    const destination = await server(ok);
    const { dispatcher, ingest, allIn, logger } = setup({ destinations: [testDestination('main', { url: destination.url, apiKey })] });
    dispatcher.start();
    await ingest(makeEvent({ attributes: { story: 'a value far longer than twenty characters' } }));

    await waitFor(allIn('main', 'delivered'), 'delivery');
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        fields: expect.objectContaining({ destinationId: 'main', warnings: [expect.stringContaining('attribute "story"')] }),
      }),
    );
  });
});

describe('Dispatcher: leases', () => {
  const slowOk = (delayMs: number) => (request: ReceivedRequest, response: ServerResponse) => {
    setTimeout(() => ok(request, response), delayMs);
  };
  const sentEvents = (destination: TestServer) => destination.received.flatMap((request) => itemsOf(request).map((item) => item.delivery));

  it('keeps a batch’s leases while its many requests are sent, so a slow destination gets each event once', async () => {
    const destination = await server(slowOk(100));
    // One item per request and two at a time: 24 deliveries take 12 rounds, several leases long.
    const plugin = testPlugin({ maxItems: 100 });
    const { dispatcher, ingest, allIn, store } = setup({
      destinations: [
        testDestination('main', { url: destination.url, apiKey, itemsPerRequest: 1 }, { plugin, concurrency: 2, timeoutMs: 500 }),
      ],
      options: { leaseMs: 900 },
    });
    for (let i = 0; i < 24; i += 1) await ingest();
    dispatcher.start();

    await waitFor(allIn('main', 'delivered'), 'all 24 to be delivered');
    const sent = sentEvents(destination);
    expect(sent).toHaveLength(24);
    expect(new Set(sent).size).toBe(24);
    expect(store.rows('main').map((row) => row.attempts)).toEqual(Array(24).fill(1));
  });

  it('before a request its fresh leases surely outlast, only looks at them in the store instead of renewing them', async () => {
    const destination = await server(ok);
    const store = new MemoryStore();
    const calls = { renewLeases: 0, heldLeases: 0 };
    const [renew, held] = [store.queue.renewLeases.bind(store.queue), store.queue.heldLeases.bind(store.queue)];
    store.queue.renewLeases = (renewal) => ((calls.renewLeases += 1), renew(renewal));
    store.queue.heldLeases = (ids, owner) => ((calls.heldLeases += 1), held(ids, owner));
    const { dispatcher, ingest, allIn } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
      store,
    });
    dispatcher.start();
    await ingest();

    await waitFor(allIn('main', 'delivered'), 'delivery');
    expect(calls).toEqual({ renewLeases: 0, heldLeases: 1 });
  });

  it('makes no request its leases would not outlast: a batch whose leases cannot be renewed gives them back unsent', async () => {
    const destination = await server(slowOk(100));
    const store = new MemoryStore();
    let renewals = 0;
    store.queue.renewLeases = async () => {
      renewals += 1;
      throw new Error('database is unreachable');
    };
    const { dispatcher, ingest, logger } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey, itemsPerRequest: 1 }, { concurrency: 1, timeoutMs: 500 })],
      options: { leaseMs: 900, pollMs: 10 * 60_000 },
      store,
    });
    for (let i = 0; i < 12; i += 1) await ingest();
    dispatcher.start();

    await waitFor(() => store.completions.length > 0, 'the first batch to be stored');
    await dispatcher.stop();
    const [updates] = store.completions;
    const delivered = updates.filter((update) => update.state === 'delivered');
    const givenBack = updates.filter((update) => update.state === 'pending');
    // Sent while the first lease surely held; the rest given back without an attempt, due at once.
    expect(delivered.length).toBeGreaterThan(0);
    expect(givenBack.length).toBeGreaterThan(0);
    expect(delivered.length + givenBack.length).toBe(12);
    expect(givenBack.every((update) => update.attempt === undefined)).toBe(true);
    // Every event sent was sent once and stored as delivered (later batches may have sent some given back).
    const sent = sentEvents(destination);
    expect(new Set(sent).size).toBe(sent.length);
    const allDelivered = store.completions.flat().filter((update) => update.state === 'delivered');
    expect(sent.sort()).toEqual(allDelivered.map((update) => update.deliveryId).sort());
    expect(renewals).toBeGreaterThan(0);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ error: 'database is unreachable' }) }),
    );
  });

  it('sends nothing of a delivery erased after it was leased (by another runner), and its outcome finds nothing', async () => {
    const destination = await server(ok);
    const database = new MemoryDatabase();
    const store = new MemoryStore(database);
    const { dispatcher, queue, ingest, logger } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
      options: { pollMs: 10 * 60_000 },
      store,
    });
    const lease = queue.lease.bind(queue);
    let erased = 0;
    // Another runner on the same database erases the user between this runner's lease and its request.
    queue.lease = async (request) => {
      const leased = await lease(request);
      if (leased.length > 0) erased += await composeStore(new MemoryStore(database)).maintenance.erase('erased-user');
      return leased;
    };
    await ingest(makeEvent({ appUserId: 'erased-user' }));
    dispatcher.start();

    await waitFor(() => store.completions.length > 0, 'the batch to be finished');
    expect(erased).toBe(1);
    expect(destination.received).toEqual([]);
    expect(store.rows()).toEqual([]);
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('lost the leases') }));
  });

  it('caps a batch by the bytes of its webhook bodies, taking at least one', async () => {
    const destination = await server(ok);
    const { dispatcher, ingest, allIn } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey }, { concurrency: 1 })],
      options: { batchMaxBytes: 1 },
    });
    for (let i = 0; i < 3; i += 1) await ingest();
    dispatcher.start();

    await waitFor(allIn('main', 'delivered'), 'all three to be delivered');
    expect(destination.received.map((request) => itemsOf(request).length)).toEqual([1, 1, 1]);
  });
});

describe('Dispatcher: outcomes', () => {
  it('schedules retries with backoff from the injected clock and random, honouring Retry-After', async () => {
    const answers = [
      (response: ServerResponse) => sendJson(response, 503, { error: 'unavailable' }),
      (response: ServerResponse) => sendJson(response, 429, { error: 'slow down' }, { 'Retry-After': '7' }),
      (response: ServerResponse) => sendJson(response, 200, {}),
    ];
    const destination = await server((_request, response) => answers.shift()!(response));
    const clock = manualClock();
    const { store, dispatcher, ingest } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
      clock,
      random: () => 0.5,
    });
    dispatcher.start();
    const event = await ingest();
    const row = () => store.row(event.id, 'main');

    await waitFor(() => row().attempts === 1 && row().state === 'pending', 'the first failure');
    // First retry: base 1000 ms → ceiling 1000, jitter over the upper half at random 0.5 → 750 ms.
    expect(row()).toMatchObject({ nextAttemptAtMs: T0 + 750, lastStatus: 503, lastError: 'HTTP 503: {"error":"unavailable"}' });
    await new Promise((resolve) => setTimeout(resolve, 100)); // several polls: nothing is due yet
    expect(destination.received).toHaveLength(1);

    clock.advance(750);
    await waitFor(() => row().attempts === 2, 'the second attempt');
    expect(row()).toMatchObject({ state: 'pending', nextAttemptAtMs: T0 + 750 + 7_000, lastStatus: 429 });

    clock.advance(7_000);
    await waitFor(() => row().state === 'delivered', 'delivery on the third attempt');
    expect(row().attemptLog.map((attempt) => [attempt.outcome, attempt.status, attempt.startedAtMs])).toEqual([
      ['retry', 503, T0],
      ['retry', 429, T0 + 750],
      ['delivered', 200, T0 + 7_750],
    ]);
  });

  const policy: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 1_000, maxRetryAfterMs: 1_000, maxAttempts: 2, maxAgeMs: 60_000 };

  it('gives up only when both the attempts and the age limit are reached (attempts first)', async () => {
    const destination = await server((_request, response) => sendJson(response, 500, { error: 'internal' }));
    const clock = manualClock();
    const { store, dispatcher, ingest } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
      options: { retryPolicy: policy },
      clock,
    });
    dispatcher.start();
    const event = await ingest();
    const row = () => store.row(event.id, 'main');

    await waitFor(() => row().attempts === 1, 'attempt 1');
    clock.advance(1_000);
    await waitFor(() => row().attempts === 2, 'attempt 2');
    expect(row().state).toBe('pending'); // two attempts, but only a second old

    clock.advance(59_000);
    await waitFor(() => row().attempts === 3, 'attempt 3');
    expect(row()).toMatchObject({ state: 'dead', lastStatus: 500, lastError: 'HTTP 500: {"error":"internal"}' });
  });

  it('gives up only when both the attempts and the age limit are reached (age first)', async () => {
    const destination = await server((_request, response) => sendJson(response, 500, { error: 'internal' }));
    const clock = manualClock();
    const { store, dispatcher, ingest } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
      options: { retryPolicy: policy },
      clock,
    });
    const event = await ingest();
    clock.advance(120_000); // the runner was down for two minutes
    dispatcher.start();
    const row = () => store.row(event.id, 'main');

    await waitFor(() => row().attempts === 1, 'attempt 1');
    expect(row().state).toBe('pending'); // old, but tried only once
    clock.advance(1_000);
    await waitFor(() => row().attempts === 2, 'attempt 2');
    expect(row().state).toBe('dead');
  });

  it('kills a rejected request at once, and only the rejected items of a partly accepted one', async () => {
    const destination = await server((request, response) => {
      const items = itemsOf(request);
      if (items.some((item) => item.user === 'malformed')) return sendJson(response, 400, { error: 'Malformed request' });
      sendJson(response, 200, { rejected: items.filter((item) => item.user === 'bad').map((item) => item.delivery) });
    });
    const { store, dispatcher, ingest, statesOf, deadReports } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
    });
    const malformed = await ingest(makeEvent({ appUserId: 'malformed', attributes: { account: 'other' } }));
    const good = await ingest(makeEvent({ appUserId: 'good' }));
    const bad = await ingest(makeEvent({ appUserId: 'bad' }));
    dispatcher.start();

    await waitFor(() => statesOf('main').every((state) => state === 'dead' || state === 'delivered'), 'every outcome');
    expect(store.row(malformed.id, 'main')).toMatchObject({
      state: 'dead',
      attempts: 1,
      lastStatus: 400,
      lastError: 'http_400: HTTP 400: {"error":"Malformed request"}',
    });
    expect(store.row(good.id, 'main')).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(store.row(bad.id, 'main')).toMatchObject({ state: 'dead', attempts: 1, lastError: 'bad_item: the server refused this item' });
    // The observer hears of every delivery that died, with one batch's first error (what alerts report).
    expect(deadReports.reduce((sum, report) => sum + report.count, 0)).toBe(2);
    expect(deadReports.map((report) => report.destinationId)).toEqual(deadReports.map(() => 'main'));
    for (const { firstError } of deadReports)
      expect(['http_400: HTTP 400: {"error":"Malformed request"}', 'bad_item: the server refused this item']).toContain(firstError);
  });

  it.each([
    ['parseResponse leaves a delivery without an outcome', { parseResponse: () => [] }, 'parseResponse gave these deliveries no outcome'],
    [
      'parseResponse throws',
      {
        parseResponse: () => {
          throw new Error('cannot read');
        },
      },
      'parseResponse threw: cannot read',
    ],
    [
      'buildRequests throws',
      {
        buildRequests: () => {
          throw new Error('cannot build');
        },
      },
      'buildRequests threw: cannot build',
    ],
    ['buildRequests leaves a delivery out', { buildRequests: () => [] }, 'no request carried these deliveries'],
    [
      'the filter throws',
      {
        filter: () => {
          throw new Error('cannot filter');
        },
      },
      'filter threw: cannot filter',
    ],
  ])('retries (never loses) a delivery when %s, and logs a plugin bug', async (_case, bug, problem) => {
    const destination = await server(ok);
    const plugin = { ...testPlugin(), ...bug };
    const plannedWith = testDestination('main', { url: destination.url, apiKey });
    const { store, dispatcher, logger } = setup({ destinations: [{ ...plannedWith, plugin }] });
    const event = makeEvent();
    await store.queue.ingest(ingestEventOf(event, encodeEvent(event)), planDeliveries(event, [plannedWith]), Date.now());
    dispatcher.start();

    await waitFor(() => store.row(event.id, 'main').attempts === 1, 'the attempt');
    expect(store.row(event.id, 'main')).toMatchObject({ state: 'pending', lastError: `plugin error: ${problem}` });
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('plugin bug') }));
  });

  it("keeps the customer's ids out of the log line of a plugin bug that quotes them", async () => {
    const destination = await server(ok);
    const plannedWith = testDestination('main', { url: destination.url, apiKey });
    const event = makeEvent();
    const plugin = {
      ...testPlugin(),
      filter: (quoted: typeof event) => {
        throw new Error(`no identity for ${quoted.appUserId}`);
      },
    };
    const { store, dispatcher, logger } = setup({ destinations: [{ ...plannedWith, plugin }] });
    await store.queue.ingest(ingestEventOf(event, encodeEvent(event)), planDeliveries(event, [plannedWith]), Date.now());
    dispatcher.start();

    await waitFor(() => store.row(event.id, 'main').attempts === 1, 'the attempt');
    const bug = logger.entries.find((entry) => entry.message.includes('plugin bug'));
    expect(bug?.fields).toMatchObject({ reason: 'plugin error: filter threw: no identity for [user id]' });
    expect(JSON.stringify(logger.entries)).not.toContain(event.appUserId!);
  });

  it('skips a delivery the filter now refuses (the config changed since ingest), sending nothing', async () => {
    const destination = await server(ok);
    const plannedWith = testDestination('main', { url: destination.url, apiKey });
    const now = {
      ...plannedWith,
      plugin: { ...testPlugin(), filter: () => ({ rule: 'event_disabled', reason: 'renewal is switched off' }) },
    };
    const { store, dispatcher, ingest, allIn } = setup({ destinations: [now] });
    const event = makeEvent();
    await store.queue.ingest(ingestEventOf(event, encodeEvent(event)), planDeliveries(event, [plannedWith]), Date.now());
    dispatcher.start();
    await ingest(); // planned with the new filter: skipped at once

    await waitFor(allIn('main', 'skipped'), 'both skipped');
    expect(store.row(event.id, 'main')).toMatchObject({ attempts: 0, lastError: 'event_disabled: renewal is switched off' });
    expect(destination.received).toHaveLength(0);
  });

  it('marks a stored body it cannot decode dead, without a request', async () => {
    const destination = await server(ok);
    const { store, dispatcher, allIn } = setup({ destinations: [testDestination('main', { url: destination.url, apiKey })] });
    const event = makeEvent();
    await store.queue.ingest(ingestEventOf(event, 'not json'), [{ destinationId: 'main', state: 'pending' }], Date.now());
    dispatcher.start();

    await waitFor(allIn('main', 'dead'), 'dead');
    expect(store.row(event.id, 'main')).toMatchObject({ attempts: 0, lastError: expect.stringMatching(/^undecodable: /) });
    expect(destination.received).toHaveLength(0);
  });
});

describe('Dispatcher: paused destinations', () => {
  it('pauses on refused credentials, probes with one delivery, and resumes after the fix — nothing dies', async () => {
    let credentialsFixed = false;
    const destination = await server((_request, response) =>
      credentialsFixed ? sendJson(response, 200, {}) : sendJson(response, 401, { error: `Invalid Credentials for ${apiKey}` }),
    );
    const { store, dispatcher, ingest, statusChanges, allIn, logger } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
    });
    for (let i = 0; i < 3; i += 1) await ingest();
    dispatcher.start();

    await waitFor(() => dispatcher.status()[0].state === 'paused', 'the pause');
    expect(itemsOf(destination.received[0])).toHaveLength(3);
    await waitFor(allIn('main', 'paused'), 'the batch to wait as paused');
    expect(dispatcher.pausedDestinationIds()).toEqual(new Set(['main']));
    const [status] = dispatcher.status();
    expect(status.reason).toBe('HTTP 401: {"error":"Invalid Credentials for [redacted]"}');
    expect(status.since).toEqual(expect.any(Number));
    for (const row of store.rows('main')) expect(row).toMatchObject({ attempts: 1, lastStatus: 401, lastError: status.reason });
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('destination paused') }),
    );

    const later = await ingest(); // planned while paused
    expect(store.row(later.id, 'main').state).toBe('paused');
    await waitFor(() => destination.received.length >= 3, 'two probes');
    expect(destination.received.slice(1).map((request) => itemsOf(request).length)).toEqual(destination.received.slice(1).map(() => 1));
    expect(dispatcher.status()[0].state).toBe('paused');

    credentialsFixed = true;
    await waitFor(allIn('main', 'delivered'), 'every delivery after the fix');
    expect(dispatcher.status()[0]).toMatchObject({ state: 'running' });
    expect(statusChanges.map((change) => change.state)).toEqual(['paused', 'running']);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'info', message: expect.stringContaining('destination resumed') }),
    );
  });

  it('delivers a straggler planned as paused just before the destination resumed', async () => {
    const destination = await server(ok);
    const destinations = [testDestination('main', { url: destination.url, apiKey })];
    const { store, dispatcher, allIn } = setup({ destinations });
    dispatcher.start();
    // The race: ingest read "paused" before the resume and committed after it.
    const event = makeEvent();
    await store.queue.ingest(ingestEventOf(event, encodeEvent(event)), planDeliveries(event, destinations, new Set(['main'])), Date.now());
    expect(store.row(event.id, 'main').state).toBe('paused');
    await waitFor(allIn('main', 'delivered'), 'the straggler to be delivered');
    expect(dispatcher.status()[0].state).toBe('running');
  });

  it("holds an operator's pause stored by another runner: sends nothing, never probes, and delivers once resumed", async () => {
    const destination = await server(ok);
    const { store, dispatcher, ingest, allIn } = setup({ destinations: [testDestination('main', { url: destination.url, apiKey })] });
    dispatcher.start();
    await store.coordination.pauseDestination({
      destinationId: 'main',
      cause: 'operator',
      reason: 'maintenance',
      sinceMs: T0,
      setBy: 'elsewhere',
    });
    await waitFor(() => dispatcher.status()[0].state === 'paused', 'the pause read from the store');
    expect(dispatcher.status()[0]).toMatchObject({ pausedBy: 'operator', reason: 'maintenance', since: T0 });
    expect(dispatcher.pausedDestinationIds()).toEqual(new Set(['main']));
    await ingest(); // planned as paused
    await waitFor(allIn('main', 'paused'), 'the deliveries to wait as paused');
    // Several probe intervals pass: an operator's pause is not probed.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(destination.received).toHaveLength(0);

    await store.coordination.resumeDestination('main', Date.now());
    await dispatcher.refreshPause('main');
    expect(dispatcher.status()[0]).toMatchObject({ state: 'running' });
    await waitFor(allIn('main', 'delivered'), 'every delivery after the resume');
  });

  it('keeps an unconfigured destination paused, parks its deliveries, and sends nothing', async () => {
    const destination = await server(ok);
    const configured = testDestination('main', { url: destination.url, apiKey });
    const store = new MemoryStore();
    const event = makeEvent();
    await store.queue.ingest(ingestEventOf(event, encodeEvent(event)), planDeliveries(event, [configured]), Date.now());
    const { dispatcher, ingest, allIn } = setup({ destinations: [testDestination('main', { url: destination.url, apiKey: '' })], store });
    dispatcher.start();
    await ingest();

    await waitFor(allIn('main', 'paused'), 'the pending delivery to be parked');
    expect(dispatcher.status()).toEqual([
      {
        destinationId: 'main',
        plugin: 'test',
        state: 'paused',
        pausedBy: 'configuration',
        reason: 'missing configuration: apiKey',
        since: expect.any(Number),
        inFlightRequests: 0,
      },
    ]);
    expect(destination.received).toHaveLength(0);
  });
});

describe('Dispatcher: isolation and concurrency', () => {
  it('refuses two destinations with one id', () => {
    const destination = testDestination('twice', { url: 'http://127.0.0.1:9', apiKey });
    expect(() => setup({ destinations: [destination, destination] })).toThrow('destination id "twice" is used twice');
  });

  it('refuses a lease too short to outlast a request with room to renew it', () => {
    const destination = testDestination('slow', { url: 'http://127.0.0.1:9', apiKey }, { timeoutMs: 60_000 });
    expect(() => setup({ destinations: [destination], options: { leaseMs: 89_999 } })).toThrow(
      'leaseMs (89999) must be at least 1.5 × the timeoutMs of destination "slow" (60000)',
    );
    expect(() => setup({ destinations: [destination], options: { leaseMs: 90_000 } })).not.toThrow();
  });

  it.each([
    { concurrency: 2, maxConcurrency: 8, cap: 2 },
    { concurrency: 4, maxConcurrency: 1, cap: 1 },
  ])(
    'keeps at most $cap requests in flight per concurrencyKey (concurrency $concurrency, plugin limit $maxConcurrency)',
    async ({ concurrency, maxConcurrency, cap }) => {
      const inFlight = new Map<string, number>();
      const most = new Map<string, number>();
      const held: (() => void)[] = [];
      let holding = true;
      const destination = await server((request, response) => {
        const account = new URL(request.url, 'http://x').searchParams.get('account')!;
        inFlight.set(account, (inFlight.get(account) ?? 0) + 1);
        most.set(account, Math.max(most.get(account) ?? 0, inFlight.get(account)!));
        const answer = () => {
          inFlight.set(account, inFlight.get(account)! - 1);
          sendJson(response, 200, {});
        };
        if (holding) held.push(answer);
        else answer();
      });
      const plugin = testPlugin({ maxItems: 20, maxConcurrency });
      const { dispatcher, ingest, allIn } = setup({
        destinations: [testDestination('main', { url: destination.url, apiKey, itemsPerRequest: 1 }, { plugin, concurrency })],
      });
      for (let i = 0; i < 12; i += 1) await ingest(makeEvent({ attributes: { account: i % 2 === 0 ? 'a' : 'b' } }));
      dispatcher.start();

      await waitFor(() => inFlight.get('a') === cap && inFlight.get('b') === cap, `${cap} requests in flight per account`);
      await new Promise((resolve) => setTimeout(resolve, 100)); // every chance to exceed the cap
      expect(Object.fromEntries(inFlight)).toEqual({ a: cap, b: cap });
      holding = false;
      held.splice(0).forEach((answer) => answer());

      await waitFor(allIn('main', 'delivered'), 'all twelve delivered');
      expect(Object.fromEntries(most)).toEqual({ a: cap, b: cap });
    },
  );

  it('keeps delivering to one destination while another hangs', async () => {
    const hanging = await server(() => undefined); // accepts requests and never answers
    const healthy = await server(ok);
    const { store, dispatcher, ingest, allIn } = setup({
      destinations: [
        testDestination('stuck', { url: hanging.url, apiKey }, { timeoutMs: 60_000, plugin: testPlugin({ maxItems: 1 }), concurrency: 2 }),
        testDestination('fine', { url: healthy.url, apiKey }, { plugin: testPlugin({ maxItems: 1 }), concurrency: 2 }),
      ],
      options: { leaseMs: 90_000 }, // outlasts the hung requests' timeout
    });
    dispatcher.start();
    for (let i = 0; i < 10; i += 1) await ingest();

    await waitFor(allIn('fine', 'delivered'), 'the healthy destination to deliver all ten');
    expect(healthy.received).toHaveLength(10);
    expect(dispatcher.status().find((status) => status.destinationId === 'stuck')).toMatchObject({ state: 'running', inFlightRequests: 2 });
    expect(store.rows('stuck').filter((row) => row.state === 'delivered')).toHaveLength(0);

    const stopping = dispatcher.stop(); // no new leases from here on
    await hanging.close(); // the hung requests fail now, and stop() stores their outcomes
    await stopping;
    expect(store.rows('stuck').filter((row) => row.state === 'pending' && row.attempts === 0)).toHaveLength(8);
    expect(store.rows('stuck').filter((row) => row.attempts === 1)).toEqual([
      expect.objectContaining({ state: 'pending', lastError: expect.stringMatching(/^network: /) }),
      expect.objectContaining({ state: 'pending', lastError: expect.stringMatching(/^network: /) }),
    ]);
  });

  it('stop() stops leasing, waits for the request in flight and stores its outcome', async () => {
    const held: (() => void)[] = [];
    const destination = await server((_request, response) => held.push(() => sendJson(response, 200, {})));
    const { store, dispatcher, ingest } = setup({ destinations: [testDestination('main', { url: destination.url, apiKey })] });
    dispatcher.start();
    const first = await ingest();
    await waitFor(() => held.length === 1, 'the request to arrive');

    let stopped = false;
    const stopping = dispatcher.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped).toBe(false);
    held[0]();
    await stopping;
    expect(store.row(first.id, 'main')).toMatchObject({ state: 'delivered', attempts: 1 });

    const second = await ingest();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.row(second.id, 'main').state).toBe('pending');
    expect(destination.received).toHaveLength(1);
  });

  it('carries on after the store fails for a moment', async () => {
    const destination = await server(ok);
    const { dispatcher, queue, ingest, allIn, logger } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey })],
    });
    const lease = queue.lease.bind(queue);
    let failures = 2;
    queue.lease = (request) => (failures-- > 0 ? Promise.reject(new Error('database is locked')) : lease(request));
    await ingest();
    dispatcher.start();

    await waitFor(allIn('main', 'delivered'), 'delivery after the store recovered');
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ error: 'database is locked' }) }),
    );
  });
});
