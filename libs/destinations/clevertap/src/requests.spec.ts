import type { Planned, SubscriptionEvent } from '@ferry/core';
import { fixtureEvent, type FixtureName } from '@ferry/testkit';
import { clevertapPlugin as plugin } from './plugin';
import { CleverTapSettings } from './settings';

const event = (name: FixtureName, overrides: Partial<SubscriptionEvent> = {}): SubscriptionEvent => ({
  ...fixtureEvent(name),
  ...overrides,
});
const settings = (input: object = {}) =>
  CleverTapSettings.parse({ accountId: 'ACC', passcode: 'PASS', sandboxAccountId: 'SBX', sandboxPasscode: 'SBX-PASS', ...input });
const planned = (deliveryId: string, e: SubscriptionEvent): Planned => ({ deliveryId, event: e });

/** The one request built for one event, with its body parsed. */
function single(e: SubscriptionEvent, s = settings()) {
  const requests = plugin.buildRequests([planned('d1', e)], s);
  expect(requests).toHaveLength(1);
  const [request] = requests;
  return { request, record: JSON.parse(request.body).d[0] };
}

describe('request line and headers', () => {
  it.each([
    ['eu1', 'https://api.clevertap.com/1/upload'],
    ['in1', 'https://in1.api.clevertap.com/1/upload'],
    ['sg1', 'https://sg1.api.clevertap.com/1/upload'],
    ['us1', 'https://us1.api.clevertap.com/1/upload'],
    ['aps3', 'https://aps3.api.clevertap.com/1/upload'],
    ['mec1', 'https://mec1.api.clevertap.com/1/upload'],
  ])('region %s posts to %s', (region, url) => {
    expect(single(event('renewal'), settings({ region })).request.url).toBe(url);
  });

  it('posts to the endpoint override instead of the region host, whatever the region', () => {
    expect(single(event('renewal'), settings({ region: 'us1', endpoint: 'http://127.0.0.1:9999' })).request.url).toBe(
      'http://127.0.0.1:9999/1/upload',
    );
    expect(single(event('renewal'), settings({ endpoint: 'https://proxy.example.com/ct/' })).request.url).toBe(
      'https://proxy.example.com/ct/1/upload',
    );
  });

  it('authenticates with account id and passcode and sends JSON', () => {
    const { request } = single(event('renewal'));
    expect(request.method).toBe('POST');
    expect(request.headers).toEqual({
      'Content-Type': 'application/json; charset=utf-8',
      'X-CleverTap-Account-Id': 'ACC',
      'X-CleverTap-Passcode': 'PASS',
    });
    expect(request.concurrencyKey).toBe('clevertap:ACC');
    expect(request.concurrencyKey).not.toContain('PASS');
    expect(Object.keys(JSON.parse(request.body))).toEqual(['d']);
  });
});

describe('records', () => {
  it('is an event record with the name, the time in seconds and one user key', () => {
    const { record } = single(event('renewal', { timestampMs: 1743501605999 }));
    expect(record.type).toBe('event');
    expect(record.evtName).toBe('rc_renewal_event');
    expect(record.ts).toBe(1743501605);
    expect(record.objectId).toBe('a1b2c3d4e5f6478890abcdef12345678');
    expect(record).not.toHaveProperty('identity');
    const { record: byAppUser } = single(event('without_clevertap_id'));
    expect(byAppUser.identity).toBe('user_8f14e45f');
    expect(byAppUser).not.toHaveProperty('objectId');
  });

  it('carries amount, currency, product_id and app_id, and app_id only when the webhook has one', () => {
    expect(single(event('trial_converted')).record.evtData).toMatchObject({
      amount: 49.99,
      currency: 'EUR',
      product_id: 'premium:annual-autorenew',
      app_id: 'app1a2b3c4d5',
    });
    const promotional = single(event('promotional_cancellation')).record.evtData;
    expect(promotional).toMatchObject({ amount: 0, currency: 'USD', product_id: 'rc_promo_pro_monthly' });
    expect(promotional).not.toHaveProperty('app_id');
  });

  it('uses the settings’ sales reporting for amount and sends refunds as 0', () => {
    expect(single(event('trial_converted'), settings({ salesReporting: 'after_store_commission' })).record.evtData.amount).toBe(42.49);
    expect(single(event('refund')).record.evtData.amount).toBe(0);
  });

  it('adds the fields of each kind, and only to that kind', () => {
    const kindFields = (e: SubscriptionEvent) =>
      Object.fromEntries(
        Object.entries(single(e).record.evtData).filter(([key]) =>
          ['cancel_reason', 'expiration_reason', 'new_product_id', 'grace_period_expiration_at'].includes(key),
        ),
      );
    expect(kindFields(event('cancellation'))).toEqual({ cancel_reason: 'UNSUBSCRIBE' });
    expect(kindFields(event('refund'))).toEqual({ cancel_reason: 'CUSTOMER_SUPPORT' });
    expect(kindFields(event('trial_cancelled'))).toEqual({ cancel_reason: 'UNSUBSCRIBE' });
    expect(kindFields(event('expiration'))).toEqual({ expiration_reason: 'UNSUBSCRIBE' });
    expect(kindFields(event('product_change'))).toEqual({ new_product_id: 'com.example.pro.yearly' });
    expect(kindFields(event('billing_issue'))).toEqual({ grace_period_expiration_at: 1750154400000 });
    // a field the webhook happens to carry on another kind stays out
    expect(
      kindFields(event('renewal', { cancelReason: 'UNSUBSCRIBE', expirationReason: 'X', newProductId: 'p', gracePeriodExpirationAtMs: 1 })),
    ).toEqual({});
    expect(kindFields(event('billing_issue', { gracePeriodExpirationAtMs: null }))).toEqual({});
  });

  it('adds every subscriber attribute as key: value, reserved keys keeping their $', () => {
    const { evtData } = single(event('renewal', { attributes: { $email: 'ana@example.com', $clevertapId: 'ct-1', age: '24' } })).record;
    expect(evtData).toMatchObject({ $email: 'ana@example.com', $clevertapId: 'ct-1', age: '24' });
  });

  it('keeps an attribute called __proto__ as plain data', () => {
    const attributes = JSON.parse('{"__proto__": "v"}') as Record<string, string>;
    const { request } = single(event('renewal', { attributes }));
    expect(request.body).toContain('"__proto__":"v"');
  });

  it('never lets an attribute replace a standard property, and says so', () => {
    const { request, record } = single(event('renewal', { attributes: { amount: '1000000', currency: 'XXX', app_id: 'fake' } }));
    expect(record.evtData).toMatchObject({ amount: 9.99, currency: 'USD', app_id: 'app1a2b3c4d5' });
    expect(request.warnings).toEqual([
      'delivery d1: attribute "amount" left out, it would replace a standard property',
      'delivery d1: attribute "currency" left out, it would replace a standard property',
      'delivery d1: attribute "app_id" left out, it would replace a standard property',
    ]);
  });

  it('leaves out properties over CleverTap’s limits, keeps the record, and names them without their values', () => {
    const key120 = 'k'.repeat(120);
    const key121 = 'q'.repeat(121);
    const attributes = {
      [key120]: 'ok',
      [key121]: 'x',
      ascii512: 'a'.repeat(512),
      ascii513: 'b'.repeat(513),
      accents256: 'é'.repeat(256), // 512 bytes
      accents257: 'è'.repeat(257), // 514 bytes, 257 characters
    };
    const { request, record } = single(event('renewal', { attributes }));
    expect(Object.keys(record.evtData)).toEqual(['amount', 'currency', 'product_id', 'app_id', key120, 'ascii512', 'accents256']);
    expect(request.warnings).toEqual([
      `delivery d1: evtData property left out, key "${'q'.repeat(40)}…" is 121 characters (limit 120)`,
      'delivery d1: evtData property left out, value of "ascii513" is 513 bytes (limit 512)',
      'delivery d1: evtData property left out, value of "accents257" is 514 bytes (limit 512)',
    ]);
    expect(request.warnings?.join()).not.toContain('bbbb');
    expect(request.warnings?.join()).not.toContain('èè');
  });

  it('applies the limits to standard properties too', () => {
    const { request, record } = single(event('renewal', { productId: 'p'.repeat(600) }));
    expect(record.evtData).not.toHaveProperty('product_id');
    expect(request.warnings).toEqual(['delivery d1: evtData property left out, value of "product_id" is 600 bytes (limit 512)']);
  });

  it('has no warnings when nothing was left out', () => {
    expect(single(event('renewal')).request).not.toHaveProperty('warnings');
  });
});

describe('accounts and batches', () => {
  it('sends production to the main account and sandbox to the sandbox account, never mixed', () => {
    const batch = [
      planned('p1', event('initial_purchase')),
      planned('s1', event('sandbox_initial_purchase')),
      planned('p2', event('renewal')),
      planned('s2', event('sandbox_initial_purchase', { id: 'other' })),
    ];
    const requests = plugin.buildRequests(batch, settings());
    expect(
      requests.map((r) => [r.headers['X-CleverTap-Account-Id'], r.headers['X-CleverTap-Passcode'], r.concurrencyKey, r.deliveryIds]),
    ).toEqual([
      ['ACC', 'PASS', 'clevertap:ACC', ['p1', 'p2']],
      ['SBX', 'SBX-PASS', 'clevertap:SBX', ['s1', 's2']],
    ]);
    expect(JSON.parse(requests[0].body).d.map((r: { ts: number }) => r.ts)).toEqual([1740823202, 1743501605]);
  });

  it('keeps production and sandbox apart even when both use the same account id', () => {
    const requests = plugin.buildRequests(
      [planned('p1', event('initial_purchase')), planned('s1', event('sandbox_initial_purchase'))],
      settings({ sandboxAccountId: 'ACC', sandboxPasscode: 'OTHER-PASS' }),
    );
    expect(requests.map((r) => [r.headers['X-CleverTap-Passcode'], r.deliveryIds])).toEqual([
      ['PASS', ['p1']],
      ['OTHER-PASS', ['s1']],
    ]);
  });

  it('never sends a sandbox event to production, nor production to sandbox, when credentials are missing', () => {
    const noSandbox = CleverTapSettings.parse({ accountId: 'ACC', passcode: 'PASS' });
    expect(() => plugin.buildRequests([planned('s1', event('sandbox_initial_purchase'))], noSandbox)).toThrow(
      'no sandbox credentials to send SANDBOX events with',
    );
    const onlySandbox = CleverTapSettings.parse({ sandboxAccountId: 'SBX', sandboxPasscode: 'SBX-PASS' });
    expect(() => plugin.buildRequests([planned('p1', event('renewal'))], onlySandbox)).toThrow(
      'no credentials to send PRODUCTION events with',
    );
  });

  it('splits at 1000 records, in order, every delivery exactly once', () => {
    const renewal = event('renewal');
    const batch = Array.from({ length: 2500 }, (_, i) => planned(`d${i}`, { ...renewal, timestampMs: renewal.timestampMs + i * 1000 }));
    const requests = plugin.buildRequests(batch, settings());
    expect(requests.map((r) => r.deliveryIds.length)).toEqual([1000, 1000, 500]);
    expect(requests.flatMap((r) => r.deliveryIds)).toEqual(batch.map((p) => p.deliveryId));
    for (const request of requests) {
      const records = JSON.parse(request.body).d as { ts: number }[];
      expect(records.map((r) => r.ts)).toEqual(
        request.deliveryIds.map((id) => Math.floor(renewal.timestampMs / 1000) + Number(id.slice(1))),
      );
    }
  });

  it('splits by bytes before a request outgrows maxBytes', () => {
    const maxBytes = plugin.capabilities.batch.maxBytes ?? 0;
    expect(maxBytes).toBe(5_000_000);
    // ~100 attributes of 500 bytes: about 52 kB per record, so 200 records need three requests
    const attributes = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`attr_${i}`, 'v'.repeat(500)]));
    const bulky = event('renewal', { attributes });
    const batch = Array.from({ length: 200 }, (_, i) => planned(`d${i}`, bulky));
    const requests = plugin.buildRequests(batch, settings());
    expect(requests.length).toBe(3);
    for (const request of requests) expect(Buffer.byteLength(request.body)).toBeLessThanOrEqual(maxBytes);
    // full: the next record would not have fitted
    const recordBytes = Buffer.byteLength(JSON.stringify(JSON.parse(requests[0].body).d[0]));
    expect(Buffer.byteLength(requests[0].body) + 1 + recordBytes).toBeGreaterThan(maxBytes);
    expect(requests.flatMap((r) => r.deliveryIds)).toEqual(batch.map((p) => p.deliveryId));
  });

  it('builds byte-identical requests from the same input', () => {
    const batch = [
      planned('a', event('long_attributes')),
      planned('b', event('sandbox_initial_purchase')),
      planned('c', event('billing_issue')),
    ];
    expect(plugin.buildRequests(batch, settings())).toStrictEqual(plugin.buildRequests(structuredClone(batch), settings()));
  });

  it('builds nothing for an empty batch', () => {
    expect(plugin.buildRequests([], settings())).toEqual([]);
  });
});
