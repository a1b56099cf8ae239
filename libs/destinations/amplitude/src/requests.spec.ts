import type { Planned, SubscriptionEvent } from '@ferry/core';
import { fixtureEvent } from '@ferry/testkit';
import { MAX_REQUEST_BYTES } from './capabilities';
import { buildRequests } from './requests';
import { AmplitudeSettings } from './settings';

const settings = AmplitudeSettings.parse({ apiKey: 'requests-spec-key', sandboxApiKey: 'requests-spec-sandbox-key' });

const planned = (deliveryId: string, event: SubscriptionEvent): Planned => ({ deliveryId, event });
/** A renewal with `bytes` more of attribute value, so its size is under the test's control. */
function bulky(n: number, bytes: number): Planned {
  const e = fixtureEvent('renewal');
  return planned(`d${n}`, { ...e, id: `${e.id}-${n}`, attributes: { ...e.attributes, bulk: 'x'.repeat(bytes) } });
}

describe('buildRequests', () => {
  it('fills each request up to 1 MB and no further, in batch order', () => {
    const batch = Array.from({ length: 12 }, (_, n) => bulky(n, 200_000));
    const requests = buildRequests(batch, settings);
    const sizes = requests.map((r) => Buffer.byteLength(r.body));
    expect(sizes.every((size) => size <= MAX_REQUEST_BYTES)).toBe(true);
    expect(requests.flatMap((r) => r.deliveryIds)).toEqual(batch.map((p) => p.deliveryId));
    // Full: the next event would not have fitted (each is a little over 200 kB, so four per request).
    expect(requests.map((r) => r.deliveryIds.length)).toEqual([4, 4, 4]);
    for (const request of requests) {
      const body = JSON.parse(request.body);
      expect(body).toEqual({ api_key: 'requests-spec-key', events: expect.any(Array), options: { min_id_length: 1 } });
      expect(body.events.map((e: { insert_id: string }) => e.insert_id)).toEqual(
        request.deliveryIds.map((id) => `${fixtureEvent('renewal').id}-${id.slice(1)}`),
      );
    }
  });

  it('counts the body to the byte: an event that fills the last byte still joins, one byte more does not', () => {
    const bytes = (...events: Planned[]) => Buffer.byteLength(buildRequests(events, settings)[0].body);
    const alone = bytes(bulky(0, 1000));
    const pair = bytes(bulky(0, 1000), bulky(1, 1000));
    const eventWithoutBulk = pair - alone - 1 - 1000; // the second event adds itself and a comma
    const lastByte = MAX_REQUEST_BYTES - pair - 1 - eventWithoutBulk; // bulk that makes a third event end the body at the limit
    const fits = buildRequests([bulky(0, 1000), bulky(1, 1000), bulky(2, lastByte)], settings);
    expect(fits.map((r) => Buffer.byteLength(r.body))).toEqual([MAX_REQUEST_BYTES]);
    const overflows = buildRequests([bulky(0, 1000), bulky(1, 1000), bulky(2, lastByte + 1)], settings);
    expect(overflows.map((r) => r.deliveryIds)).toEqual([['d0', 'd1'], ['d2']]);
  });

  it('sends an event over 1 MB on its own, keeping order around it', () => {
    const requests = buildRequests([bulky(0, 10), bulky(1, MAX_REQUEST_BYTES), bulky(2, 10)], settings);
    expect(requests.map((r) => r.deliveryIds)).toEqual([['d0'], ['d1'], ['d2']]);
  });

  it('never mixes projects: sandbox events go with the sandbox key, on their own concurrency key', () => {
    const sandbox = fixtureEvent('sandbox_initial_purchase');
    const requests = buildRequests(
      [planned('p1', fixtureEvent('renewal')), planned('s1', sandbox), planned('p2', fixtureEvent('initial_purchase'))],
      settings,
    );
    expect(requests.map((r) => [r.deliveryIds, JSON.parse(r.body).api_key, r.concurrencyKey])).toEqual([
      [['p1', 'p2'], 'requests-spec-key', 'amplitude:production'],
      [['s1'], 'requests-spec-sandbox-key', 'amplitude:sandbox'],
    ]);
  });

  it('writes any API key as valid JSON', () => {
    const odd = AmplitudeSettings.parse({ apiKey: 'k"e\\y[0]\u2028' });
    const [request] = buildRequests([planned('p1', fixtureEvent('renewal'))], odd);
    expect(JSON.parse(request.body).api_key).toBe('k"e\\y[0]\u2028');
  });

  it('refuses to send sandbox events without a sandbox key (filter() skips them; reaching here is a bug)', () => {
    const productionOnly = AmplitudeSettings.parse({ apiKey: 'requests-spec-key' });
    expect(() => buildRequests([planned('s1', fixtureEvent('sandbox_initial_purchase'))], productionOnly)).toThrow('no sandbox API key');
  });
});
