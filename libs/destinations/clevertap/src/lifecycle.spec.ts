/**
 * A user's whole subscription story sent to the fake CleverTap over real HTTP, in order and shuffled, with
 * `profileSync` and `chargedEvent` on. The engine's ordering guard is simulated (an event carries state only when
 * it is the newest so far for the user): in every order, CleverTap ends with the same profile as in order.
 */
import type { DeliveryRequest, HttpResult } from '@ferry/core';
import { lifecycleEvents, shuffled, startFakeCleverTap, withSimulatedGuard, type FakeCleverTap } from '@ferry/testkit';
import { Agent, request } from 'undici';
import { clevertapPlugin as plugin } from './plugin';
import { CleverTapSettings } from './settings';

let agent: Agent;
let fake: FakeCleverTap;
beforeAll(async () => {
  agent = new Agent();
  fake = await startFakeCleverTap({ accounts: { ACC: 'lifecycle-pass' } });
});
afterAll(async () => {
  await fake.close();
  await agent.close();
});

async function exchange(r: DeliveryRequest): Promise<HttpResult> {
  const res = await request(r.url, { method: r.method, headers: r.headers, body: r.body, dispatcher: agent });
  return { kind: 'response', status: res.statusCode, headers: {}, body: await res.body.text() };
}

/** Sends the events one by one in this order, as webhooks arrive; returns the user's final profile. */
async function deliverInOrder(order: ReturnType<typeof lifecycleEvents>) {
  fake.reset();
  const settings = CleverTapSettings.parse({
    accountId: 'ACC',
    passcode: 'lifecycle-pass',
    endpoint: fake.url,
    profileSync: true,
    chargedEvent: true,
  });
  for (const [index, { event, carriesState }] of withSimulatedGuard(order).entries()) {
    for (const r of plugin.buildRequests([{ deliveryId: `d${index}`, event, carriesState }], settings)) {
      // CleverTap took every record: the state too, when a profile record carried it.
      const stateSent = r.records?.some((record) => record.carriesState) === true;
      expect(plugin.parseResponse(r, await exchange(r), settings)).toEqual([
        { deliveryId: `d${index}`, type: 'delivered', status: 200, ...(stateSent && { stateAccepted: true }) },
      ]);
    }
  }
  return fake.profile(plugin.identity(order[0], settings));
}

const events = lifecycleEvents();

it('in order: the profile ends expired, every event and each paid one’s Charged arrive', async () => {
  const profile = await deliverInOrder(events);
  const last = events[events.length - 1];
  expect(profile).toEqual({
    rc_subscription_status: 'expired',
    rc_product_id: last.productId,
    rc_store: last.store,
    rc_entitlements: [...last.entitlementIds],
    rc_expires_at: `$D_${Math.floor((last.expirationAtMs as number) / 1000)}`,
  });
  const names = fake.records().map(({ record }) => (record as { evtName?: string; type: string }).evtName ?? 'profile');
  expect(names.filter((name) => name.startsWith('rc_'))).toHaveLength(events.length);
  expect(names.filter((name) => name === 'Charged')).toHaveLength(4); // conversion, two renewals, recovery; not the refund
  expect(names.filter((name) => name === 'profile')).toHaveLength(events.length);
});

it.each([1, 2, 3, 4, 5, 6, 7, 8])('shuffled (seed %i): the same final profile as in order', async (seed) => {
  const inOrder = await deliverInOrder(events);
  const order = shuffled(events, seed);
  expect(await deliverInOrder(order)).toEqual(inOrder);
  // Every event still went, state or not.
  expect(fake.records().filter(({ record }) => (record as { evtName?: string }).evtName?.startsWith('rc_'))).toHaveLength(events.length);
});

it('without the guard an older event would overwrite the newer state (the test can fail)', async () => {
  fake.reset();
  const settings = CleverTapSettings.parse({ accountId: 'ACC', passcode: 'lifecycle-pass', endpoint: fake.url, profileSync: true });
  const [first, ...rest] = [events[events.length - 1], events[0]];
  for (const event of [first, ...rest]) for (const r of plugin.buildRequests([{ deliveryId: 'd', event }], settings)) await exchange(r);
  expect(fake.profile(plugin.identity(first, settings))?.rc_subscription_status).toBe('trial');
});
