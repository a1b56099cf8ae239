/**
 * The plugin against the fake Amplitude of @ferry/testkit over real HTTP on loopback: what it builds is
 * taken, and what Amplitude answers is read per event. The engine's part (storing outcomes, scheduling
 * retries) is played by hand: a retried delivery is simply built and sent again.
 */
import type { DeliveryRequest, HttpResult, Outcome, Planned, SubscriptionEvent } from '@ferry/core';
import { fixtureEvent, fixtures, startFakeAmplitude, type FakeAmplitude, type FakeAmplitudeOptions } from '@ferry/testkit';
import { Agent, request } from 'undici';
import { amplitudePlugin as plugin } from './plugin';
import { THROTTLE_DELAY_MS } from './responses';
import { AmplitudeSettings } from './settings';

const API_KEY = 'over-http-api-key-0001';
const SANDBOX_KEY = 'over-http-sandbox-key-0002';

let agent: Agent;
let fake: FakeAmplitude | undefined;
beforeAll(() => {
  agent = new Agent();
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});
afterAll(() => agent.close());

async function startFake(options: FakeAmplitudeOptions = {}) {
  fake = await startFakeAmplitude({ projects: { production: API_KEY, sandbox: SANDBOX_KEY }, ...options });
  const settings = AmplitudeSettings.parse({ apiKey: API_KEY, sandboxApiKey: SANDBOX_KEY, endpoint: fake.url });
  return { fake, settings };
}

async function exchange(r: DeliveryRequest): Promise<HttpResult> {
  try {
    const res = await request(r.url, { method: r.method, headers: r.headers, body: r.body, dispatcher: agent });
    const headers = Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)]));
    return { kind: 'response', status: res.statusCode, headers, body: await res.body.text() };
  } catch (error) {
    return { kind: 'network', message: (error as Error).message };
  }
}

/** Builds, sends and reads a batch, as the engine does once: every delivery's outcome, by id. */
async function deliver(batch: readonly Planned[], settings: AmplitudeSettings): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  for (const r of plugin.buildRequests(batch, settings)) {
    for (const outcome of plugin.parseResponse(r, await exchange(r), settings)) outcomes.set(outcome.deliveryId, outcome);
  }
  return outcomes;
}

const types = (outcomes: Map<string, Outcome>) => Object.fromEntries([...outcomes].map(([id, o]) => [id, o.type]));
const retriedAtOnce = (outcomes: Map<string, Outcome>) =>
  [...outcomes.values()].filter((o) => o.type === 'retry' && o.retryAfterMs === 0).map((o) => o.deliveryId);

function renewalFor(n: number, attributes: Record<string, string>): Planned {
  const e = fixtureEvent('renewal');
  const event: SubscriptionEvent = { ...e, id: `${e.id}-${n}`, attributes: { ...e.attributes, ...attributes } };
  return { deliveryId: `d${n}`, event };
}

it('takes every fixture the plugin sends, each project its own, and a resend changes nothing (insert_id)', async () => {
  const { fake, settings } = await startFake();
  const batch = fixtures
    .filter((f) => plugin.filter(fixtureEvent(f.name), settings) === undefined)
    .map((f): Planned => ({ deliveryId: f.name, event: fixtureEvent(f.name) }));

  const first = await deliver(batch, settings);
  expect(new Set(Object.values(types(first)))).toEqual(new Set(['delivered']));
  const again = await deliver(batch, settings);
  expect(new Set(Object.values(types(again)))).toEqual(new Set(['delivered']));

  const insertIds = (project: string) => fake.events(project).map((e) => e.event['insert_id']);
  expect(insertIds('sandbox')).toEqual([fixtureEvent('sandbox_initial_purchase').id]);
  expect(insertIds('production')).toEqual(batch.filter((p) => p.event.environment === 'PRODUCTION').map((p) => p.event.id));
  expect(fake.requests().map((r) => [r.path, r.status])).toEqual(Array(4).fill(['/2/httpapi', 200]));
});

it.each([
  ['lists every failing event', false, 2],
  ['lists only the first failing event per field', true, 3],
])('rejects exactly the events Amplitude refuses, when it %s, and delivers the rest on resends', async (_, firstIndexOnly, rounds) => {
  const { fake, settings } = await startFake({ firstIndexOnly });
  const batch = [
    renewalFor(0, {}),
    renewalFor(1, { $amplitudeUserId: 'null' }), // an id Amplitude refuses
    renewalFor(2, {}),
    renewalFor(3, { $amplitudeUserId: 'undefined' }),
  ];
  let pending = batch;
  const final = new Map<string, Outcome>();
  let round = 0;
  while (pending.length > 0 && round < 5) {
    round += 1;
    const outcomes = await deliver(pending, settings);
    for (const [id, outcome] of outcomes) if (outcome.type !== 'retry') final.set(id, outcome);
    const again = retriedAtOnce(outcomes);
    pending = pending.filter((p) => again.includes(p.deliveryId));
  }
  expect(round).toBe(rounds);
  expect(Object.fromEntries([...final].map(([id, o]) => [id, o.type === 'rejected' ? o.code : o.type]))).toEqual({
    d0: 'delivered',
    d1: 'amplitude_invalid_event',
    d2: 'delivered',
    d3: 'amplitude_invalid_event',
  });
  expect(fake.events().map((e) => e.event['insert_id'])).toEqual([batch[0].event.id, batch[2].event.id]);
});

it('delays only the user over the rate limit; the others get through at once', async () => {
  // One event per user per window, on a clock that stands still.
  const { fake, settings } = await startFake({ rateLimit: { httpApi: 1, windowMs: 1000 }, now: () => 1_750_000_000_000 });
  await deliver([renewalFor(0, { $amplitudeUserId: 'hot-user-1' })], settings);
  const outcomes = await deliver(
    [renewalFor(1, { $amplitudeUserId: 'calm-user' }), renewalFor(2, { $amplitudeUserId: 'hot-user-1' })],
    settings,
  );
  expect(outcomes.get('d2')).toMatchObject({ type: 'retry', retryAfterMs: THROTTLE_DELAY_MS });
  expect(retriedAtOnce(outcomes)).toEqual(['d1']);
  expect(types(await deliver([renewalFor(1, { $amplitudeUserId: 'calm-user' })], settings))).toEqual({ d1: 'delivered' });
  expect(fake.events().map((e) => e.event['user_id'])).toEqual(['hot-user-1', 'calm-user']);
});

it('on 413 retries a batch that a smaller limit refuses, and rejects an event that can never fit', async () => {
  const small = [renewalFor(0, {}), renewalFor(1, {})];
  const oneEvent = Buffer.byteLength(plugin.buildRequests([small[0]], AmplitudeSettings.parse({ apiKey: API_KEY }))[0].body);
  const { fake, settings } = await startFake({ maxBytes: { httpApi: oneEvent + 100 } });
  const outcomes = await deliver(small, settings);
  expect([...outcomes.values()].map((o) => [o.type, o.type === 'retry' && o.retryAfterMs])).toEqual([
    ['retry', undefined],
    ['retry', undefined],
  ]);
  // Retried on their own backoffs, they come due apart and go one by one.
  expect(types(await deliver([small[0]], settings))).toEqual({ d0: 'delivered' });
  expect(types(await deliver([small[1]], settings))).toEqual({ d1: 'delivered' });
  const huge = renewalFor(2, { bulk: 'x'.repeat(oneEvent) });
  expect(await deliver([huge], settings)).toEqual(
    new Map([['d2', expect.objectContaining({ type: 'rejected', code: 'amplitude_payload_too_large' })]]),
  );
  expect(fake.events()).toHaveLength(2);
});

it('pauses on a key Amplitude does not know, and after a 500 that had taken the events, a resend stores nothing twice', async () => {
  const { fake, settings } = await startFake();
  const wrongKey = AmplitudeSettings.parse({ ...settings, apiKey: 'over-http-revoked-key' });
  expect(types(await deliver([renewalFor(0, {})], wrongKey))).toEqual({ d0: 'auth_failed' });

  fake.inject({ type: 'status', status: 500 });
  expect(types(await deliver([renewalFor(0, {})], settings))).toEqual({ d0: 'retry' });
  expect(types(await deliver([renewalFor(0, {})], settings))).toEqual({ d0: 'delivered' });
  expect(fake.events()).toHaveLength(1);
});
