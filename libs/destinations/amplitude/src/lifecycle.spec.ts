/**
 * A user's whole subscription story sent to the fake Amplitude over real HTTP, in order and shuffled. The
 * engine's ordering guard is simulated; in every order the last status Amplitude receives is the in-order one.
 */
import type { DeliveryRequest, HttpResult } from '@ferry/core';
import { lifecycleEvents, shuffled, startFakeAmplitude, withSimulatedGuard, type FakeAmplitude } from '@ferry/testkit';
import { Agent, request } from 'undici';
import { amplitudePlugin as plugin } from './plugin';
import { AmplitudeSettings } from './settings';

const API_KEY = 'lifecycle-api-key-0001';
let agent: Agent;
let fake: FakeAmplitude;
beforeAll(async () => {
  agent = new Agent();
  fake = await startFakeAmplitude({ projects: { production: API_KEY } });
});
afterAll(async () => {
  await fake.close();
  await agent.close();
});

async function exchange(r: DeliveryRequest): Promise<HttpResult> {
  const res = await request(r.url, { method: r.method, headers: r.headers, body: r.body, dispatcher: agent });
  return { kind: 'response', status: res.statusCode, headers: {}, body: await res.body.text() };
}

/** Sends the events one by one in this order; returns the status the user's properties end with in Amplitude. */
async function finalStatus(order: ReturnType<typeof lifecycleEvents>, guarded = true): Promise<unknown> {
  fake.reset();
  const settings = AmplitudeSettings.parse({ apiKey: API_KEY, endpoint: fake.url });
  for (const [index, { event, carriesState }] of withSimulatedGuard(order).entries()) {
    const planned = { deliveryId: `d${index}`, event, ...(guarded && { carriesState }) };
    for (const r of plugin.buildRequests([planned], settings))
      expect(plugin.parseResponse(r, await exchange(r), settings)[0].type).toBe('delivered');
  }
  const statuses = fake.events().flatMap(({ event }) => {
    const status = (event['user_properties'] as { rc_subscription_status?: string } | undefined)?.rc_subscription_status;
    return status === undefined ? [] : [status];
  });
  expect(fake.events()).toHaveLength(order.length);
  return statuses[statuses.length - 1];
}

const events = lifecycleEvents();

it.each([1, 2, 3, 4, 5, 6, 7, 8])('shuffled (seed %i): Amplitude ends with the in-order status', async (seed) => {
  expect(await finalStatus(events)).toBe('expired');
  expect(await finalStatus(shuffled(events, seed))).toBe('expired');
});

it('without the guard an older event would overwrite the newer status (the test can fail)', async () => {
  expect(await finalStatus([events[events.length - 1], events[0]], false)).toBe('trial');
});
