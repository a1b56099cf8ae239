import fc from 'fast-check';
import { EVENT_KINDS } from '@ferry/core';
import { planDeliveries, previewDeliveries } from './plan';
import { ROUTE_RULE, routeSkip, unreachableRouteParts, wildcardPattern, type Route } from './route';
import { makeEvent, testDestination, testPlugin } from './testing/test-plugin';

const apiKey = 'route-test-key-1';
const AT_NOON = { nowMs: Date.UTC(2025, 2, 1, 12) };

describe('routeSkip', () => {
  it('takes every event when there is no route, and when every given field matches', () => {
    const event = makeEvent({ source: 'ios', store: 'APP_STORE', productId: 'com.example.pro.monthly', entitlementIds: ['pro', 'x'] });
    expect(routeSkip(undefined, 'ct', event)).toBeUndefined();
    const route: Route = {
      sources: ['android', 'ios'],
      filter: {
        environments: ['PRODUCTION'],
        apps: ['app'],
        stores: ['PLAY_STORE', 'APP_STORE'],
        products: ['com.example.pro.*'],
        entitlements: ['gold', 'pro'],
        kinds: ['renewal'],
      },
    };
    expect(routeSkip(route, 'ct', event)).toBeUndefined();
  });

  it('names the source, or the first field that does not match, with the values', () => {
    const event = makeEvent({ source: 'android', store: 'PLAY_STORE', entitlementIds: ['gold', 'silver'], appId: null });
    expect(routeSkip({ sources: ['ios'] }, 'ct', event)).toEqual({ rule: ROUTE_RULE, reason: 'source android is not routed to ct' });
    expect(routeSkip({ filter: { stores: ['APP_STORE'] } }, 'ct', event)).toEqual({
      rule: 'route',
      reason: 'filter.stores: PLAY_STORE is not one of APP_STORE',
    });
    expect(routeSkip({ filter: { entitlements: ['pro', 'plus'] } }, 'ct', event)?.reason).toBe(
      'filter.entitlements: none of gold, silver is one of pro, plus',
    );
    expect(routeSkip({ filter: { apps: ['app1'] } }, 'ct', event)?.reason).toBe(
      'filter.apps: the event has no app id; the route takes app1',
    );
    expect(routeSkip({ filter: { kinds: ['renewal'] } }, 'ct', makeEvent({ kind: null }))?.reason).toMatch(
      /^filter\.kinds: the event has no kind/,
    );
    // The fields are checked in a fixed order: environments before stores.
    expect(routeSkip({ filter: { stores: ['APP_STORE'], environments: ['SANDBOX'] } }, 'ct', event)?.reason).toBe(
      'filter.environments: PRODUCTION is not one of SANDBOX',
    );
  });

  it('matches a list when any element does, and requires every given field (property)', () => {
    const values = ['a', 'b', 'c', 'd'];
    fc.assert(
      fc.property(
        fc.subarray(values, { minLength: 1 }),
        fc.subarray(values, { minLength: 1 }),
        fc.constantFrom(...values),
        fc.constantFrom(...values),
        (stores, apps, store, app) => {
          const event = makeEvent({ store, appId: app });
          const skip = routeSkip({ filter: { stores, apps } }, 'ct', event);
          expect(skip === undefined).toBe(stores.includes(store) && apps.includes(app));
        },
      ),
    );
  });

  it('matches entitlements when the event shares one (property)', () => {
    const names = ['pro', 'plus', 'gold'];
    fc.assert(
      fc.property(fc.subarray(names, { minLength: 1 }), fc.subarray(names), (listed, held) => {
        const skip = routeSkip({ filter: { entitlements: listed } }, 'ct', makeEvent({ entitlementIds: held }));
        expect(skip === undefined).toBe(held.some((name) => listed.includes(name)));
      }),
    );
  });

  it('matches kinds among the event kinds only when listed (property)', () => {
    fc.assert(
      fc.property(fc.subarray([...EVENT_KINDS], { minLength: 1 }), fc.constantFrom(...EVENT_KINDS), (kinds, kind) => {
        expect(routeSkip({ filter: { kinds } }, 'ct', makeEvent({ kind })) === undefined).toBe(kinds.includes(kind));
      }),
    );
  });
});

describe('wildcardPattern', () => {
  it('matches `*` as any run of characters and everything else literally', () => {
    expect(wildcardPattern('com.example.pro.*').test('com.example.pro.monthly')).toBe(true);
    expect(wildcardPattern('com.example.pro.*').test('com.example.pro.')).toBe(true);
    expect(wildcardPattern('com.example.pro.*').test('com.example.basic.monthly')).toBe(false);
    // `.` is a dot, not any character; a pattern matches the whole id.
    expect(wildcardPattern('com.example.pro.*').test('comXexample.pro.monthly')).toBe(false);
    expect(wildcardPattern('pro').test('pro.monthly')).toBe(false);
    expect(wildcardPattern('*.annual').test('com.x.annual')).toBe(true);
    expect(wildcardPattern('a(b)+[c]?$^|\\').test('a(b)+[c]?$^|\\')).toBe(true);
  });

  it('without `*` matches exactly the text itself, and `prefix*suffix` what starts and ends so (property)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((value) => !value.includes('*'));
    fc.assert(
      fc.property(text, text, (pattern, id) => {
        expect(wildcardPattern(pattern).test(id)).toBe(pattern === id);
      }),
    );
    fc.assert(
      fc.property(text, text, text, (prefix, suffix, id) => {
        const expected = id.length >= prefix.length + suffix.length && id.startsWith(prefix) && id.endsWith(suffix);
        expect(wildcardPattern(`${prefix}*${suffix}`).test(id)).toBe(expected);
      }),
    );
  });
});

describe('a destination route in planning and preview', () => {
  const routed = { ...testDestination('ios-only', { url: 'http://127.0.0.1:9', apiKey }), route: { sources: ['ios'] } };

  it('skips with rule route before the plugin is asked, at ingest and in preview', () => {
    const android = makeEvent({ source: 'android', attributes: { optOut: 'yes' } });
    expect(planDeliveries(android, [routed])).toEqual([
      { destinationId: 'ios-only', state: 'skipped', reason: 'route: source android is not routed to ios-only' },
    ]);
    expect(previewDeliveries(android, [routed], AT_NOON)).toEqual([
      { destinationId: 'ios-only', plugin: 'test', status: 'skip', rule: 'route', reason: 'source android is not routed to ios-only' },
    ]);
    expect(planDeliveries(makeEvent({ source: 'ios' }), [routed])).toEqual([{ destinationId: 'ios-only', state: 'pending' }]);
  });
});

describe('unreachableRouteParts', () => {
  const plugin = testPlugin(); // takes initial_purchase and renewal, drops sandbox events

  it('names kinds the plugin does not take and sandbox events it drops', () => {
    expect(
      unreachableRouteParts({ filter: { kinds: ['renewal', 'expiration'], environments: ['PRODUCTION', 'SANDBOX'] } }, plugin),
    ).toEqual([
      { path: 'filter.kinds', message: 'test does not take expiration (it takes initial_purchase, renewal)' },
      { path: 'filter.environments', message: 'test drops SANDBOX events' },
    ]);
    expect(unreachableRouteParts({ filter: { kinds: ['expiration'], environments: ['SANDBOX'] } }, plugin)).toEqual([
      { path: 'filter.kinds', message: 'test does not take expiration: the route never matches (it takes initial_purchase, renewal)' },
      { path: 'filter.environments', message: 'test drops SANDBOX events: the route never matches' },
    ]);
  });

  it('finds nothing in a route the plugin can take', () => {
    expect(unreachableRouteParts(undefined, plugin)).toEqual([]);
    expect(unreachableRouteParts({ sources: ['ios'], filter: { kinds: ['renewal'], environments: ['PRODUCTION'] } }, plugin)).toEqual([]);
  });
});
