import type { ServerResponse } from 'node:http';
import type { DestinationPlugin, SubscriptionEvent } from '@ferry/core';
import { MemoryDatabase, MemoryStore } from '@ferry/testkit';
import { composeStore } from './index';
import { sendJson, waitFor, type ReceivedRequest, type TestServer } from './testing/http-server';
import { apiKey, manualClock, ok, runCleanups, server, setup, T0 } from './testing/dispatcher-harness';
import { makeEvent, testDestination, testPlugin, type TestSettings } from './testing/test-plugin';

afterEach(runCleanups);

interface Item {
  readonly delivery: string;
  readonly event: string;
  readonly state?: string;
}

const itemsOf = (request: ReceivedRequest): Item[] => JSON.parse(request.body).items;
/** Each event's state as sent (null: sent without state), by event id. */
const stateOf = (destination: TestServer) =>
  new Map(destination.received.flatMap((request) => itemsOf(request).map((item) => [item.event, item.state ?? null])));

describe('Dispatcher: the order of subscription states (SPEC §12)', () => {
  const user = 'user-shuffled';
  /** Event timestamps in the order the webhooks arrive; the last ties the newest and arrives later, so it wins. */
  const arrival = [T0 - 3_000, T0 - 5_000, T0 - 1_000, T0 - 4_000, T0 - 2_000, T0 - 1_000];

  async function ingestShuffled(ingest: (event: SubscriptionEvent) => Promise<SubscriptionEvent>, clock: { advance(ms: number): void }) {
    const events: SubscriptionEvent[] = [];
    for (const timestampMs of arrival) {
      events.push(await ingest(makeEvent({ appUserId: user, timestampMs })));
      clock.advance(1); // leased oldest first: sent in the order received
    }
    return events;
  }

  it('sends state only with events at least as new as the newest state already sent, one batch at a time', async () => {
    const destination = await server(ok);
    const clock = manualClock();
    const plugin = testPlugin({ maxItems: 1, subscriptionState: true });
    const { dispatcher, ingest, allIn } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey }, { plugin, concurrency: 1 })],
      clock,
    });
    const events = await ingestShuffled(ingest, clock);
    dispatcher.start();

    await waitFor(allIn('main', 'delivered'), 'every event delivered');
    const states = stateOf(destination);
    expect(events.map((event) => states.get(event.id))).toEqual(['active', null, 'active', null, null, 'active']);
  });

  it('sends state with only the newest event of a user in one batch; the older ones wait for it, then go without', async () => {
    const destination = await server(ok);
    const clock = manualClock();
    const plugin = testPlugin({ subscriptionState: true });
    const { dispatcher, ingest, allIn } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey }, { plugin })],
      clock,
    });
    const events = await ingestShuffled(ingest, clock);
    const stranger = await ingest(makeEvent({ timestampMs: T0 - 9_000 }));
    dispatcher.start();

    // Held deliveries fall due a poll later: this clock moves only when told.
    await waitFor(() => (clock.advance(20), allIn('main', 'delivered')()), 'every event delivered');
    const states = stateOf(destination);
    expect(events.map((event) => states.get(event.id))).toEqual([null, null, null, null, null, 'active']);
    expect(states.get(stranger.id)).toBe('active');
    expect(destination.received.map((request) => itemsOf(request).map((item) => item.event))).toEqual([
      [events[5].id, stranger.id],
      events.slice(0, 5).map((event) => event.id),
    ]);
  });

  it('holds across a restart and for replays: an older event sent again goes without state', async () => {
    const destination = await server(ok);
    const clock = manualClock();
    const plugin = testPlugin({ maxItems: 1, subscriptionState: true });
    const destinations = [testDestination('main', { url: destination.url, apiKey }, { plugin, concurrency: 1 })];
    const database = new MemoryDatabase();
    const first = setup({ destinations, clock, store: new MemoryStore(database) });
    const older = await first.ingest(makeEvent({ appUserId: user, timestampMs: T0 - 2_000 }));
    clock.advance(1);
    const newer = await first.ingest(makeEvent({ appUserId: user, timestampMs: T0 - 1_000 }));
    first.dispatcher.start();
    await waitFor(first.allIn('main', 'delivered'), 'both events delivered');
    await first.dispatcher.stop();
    expect([stateOf(destination).get(older.id), stateOf(destination).get(newer.id)]).toEqual(['active', 'active']);

    // A second runner on the same database replays the older event.
    destination.received.length = 0;
    const second = setup({ destinations, clock, store: new MemoryStore(database) });
    expect(await composeStore(second.store).maintenance.replay({ eventIds: [older.id], states: ['delivered'] }, clock.now())).toBe(1);
    second.dispatcher.start();
    await waitFor(second.allIn('main', 'delivered'), 'the replay delivered');
    expect([...stateOf(destination)]).toEqual([[older.id, null]]);
  });

  it('sends a newer state only once the request carrying an older one is answered, and then with its state', async () => {
    let answerSlow: (() => void) | undefined;
    /** Requests carrying state that arrived while another such request was still unanswered. */
    const overlapping: string[] = [];
    let unanswered = 0;
    const destination = await server((request: ReceivedRequest, response: ServerResponse) => {
      const stateful = itemsOf(request).some((item) => item.state !== undefined);
      if (stateful && unanswered > 0) overlapping.push(request.body);
      if (stateful) unanswered += 1;
      const answer = () => {
        if (stateful) unanswered -= 1;
        sendJson(response, 200, {});
      };
      if (answerSlow === undefined && stateful) answerSlow = answer;
      else answer();
    });
    const plugin = testPlugin({ maxItems: 1, subscriptionState: true });
    const { dispatcher, ingest, allIn, store } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey }, { plugin, concurrency: 4 })],
    });
    dispatcher.start();
    const renewal = await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 2_000 }));
    await waitFor(() => answerSlow !== undefined, 'the renewal’s request at the destination');
    // Newer, and a trial: a state the destination can tell from the renewal's.
    const newer = await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 1_000, kind: 'initial_purchase', periodType: 'TRIAL' }));
    const newerDelivery = store.row(newer.id, 'main').id;
    await waitFor(
      () => store.completions.some((batch) => batch.some((update) => update.deliveryId === newerDelivery && update.state === 'pending')),
      'the newer event held back while the renewal is in flight',
    );
    answerSlow!();

    await waitFor(allIn('main', 'delivered'), 'both delivered');
    expect(overlapping).toEqual([]);
    const sent = destination.received.flatMap(itemsOf).map((item) => [item.event, item.state]);
    expect(sent).toEqual([
      [renewal.id, 'active'],
      [newer.id, 'trial'],
    ]);
    // Held, it lost neither an attempt nor its retry window.
    expect(store.row(newer.id, 'main')).toMatchObject({ attempts: 1, windowStartMs: store.row(newer.id, 'main').createdAtMs });
  });

  it('lets a held event carry its state when the newer one ends dead, and leaves the mark at what the destination holds', async () => {
    const database = new MemoryDatabase();
    const destination = await server((request, response) => {
      // The destination refuses the newer event the first time it sees it.
      const refused = itemsOf(request).filter((item) => item.state === 'trial');
      sendJson(response, 200, { rejected: refused.map((item) => item.delivery) });
    });
    const plugin = testPlugin({ subscriptionState: true });
    const { dispatcher, ingest, statesOf, store } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey }, { plugin })],
      store: new MemoryStore(database),
    });
    const older = await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 2_000 }));
    const newer = await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 1_000, kind: 'initial_purchase', periodType: 'TRIAL' }));
    dispatcher.start();

    await waitFor(() => statesOf('main').every((state) => state === 'dead' || state === 'delivered'), 'every outcome');
    expect(store.row(newer.id, 'main').state).toBe('dead');
    expect(store.row(older.id, 'main').state).toBe('delivered');
    expect(destination.received.map((request) => itemsOf(request).map((item) => [item.event, item.state]))).toEqual([
      [[newer.id, 'trial']],
      [[older.id, 'active']],
    ]);
    expect([...database.profileMarks.values()]).toEqual([{ accepted: { timestampMs: T0 - 2_000, receivedSeq: 1 } }]);

    // Between the two: newer than what the destination holds, so it carries its state.
    const between = await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 1_500 }));
    await waitFor(() => store.row(between.id, 'main').state === 'delivered', 'the event between delivered');
    expect(stateOf(destination).get(between.id)).toBe('active');
  });

  it('keeps the mark where it was when the destination took the event but refused its state', async () => {
    const base = testPlugin({ maxItems: 1, subscriptionState: true });
    let refuseState = true;
    const plugin: DestinationPlugin<TestSettings> = {
      ...base,
      // As CleverTap's profile record refused beside an accepted event.
      parseResponse: (request, result, settings) =>
        base.parseResponse(request, result, settings).map((outcome) => (refuseState ? { ...outcome, stateAccepted: false } : outcome)),
    };
    const destination = await server(ok);
    const { dispatcher, ingest, store } = setup({
      destinations: [testDestination('main', { url: destination.url, apiKey }, { plugin, concurrency: 1 })],
    });
    dispatcher.start();
    const newer = await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 1_000, kind: 'initial_purchase', periodType: 'TRIAL' }));
    await waitFor(() => store.row(newer.id, 'main').state === 'delivered', 'the newer event delivered');
    refuseState = false;
    const older = await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 2_000 }));
    await waitFor(() => store.row(older.id, 'main').state === 'delivered', 'the older event delivered');
    // The destination holds no state of the newer event: the older one's is the newest it was given.
    expect(stateOf(destination).get(older.id)).toBe('active');
  });

  it('leaves destinations that send no state alone: no guard, no marks, nothing held', async () => {
    const destination = await server(ok);
    const database = new MemoryDatabase();
    const quiet = { ...testPlugin({ subscriptionState: true }), sendsState: () => false };
    const { dispatcher, ingest, allIn } = setup({
      destinations: [
        testDestination('main', { url: destination.url, apiKey }),
        testDestination('quiet', { url: destination.url, apiKey }, { plugin: quiet }),
      ],
      store: new MemoryStore(database),
    });
    await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 1_000 }));
    await ingest(makeEvent({ appUserId: user, timestampMs: T0 - 2_000 }));
    dispatcher.start();
    await waitFor(() => allIn('main', 'delivered')() && allIn('quiet', 'delivered')(), 'the events delivered');
    expect(database.profileMarks.size).toBe(0);
    // One request each: the older event was not held back for the newer.
    expect(destination.received).toHaveLength(2);
  });
});
