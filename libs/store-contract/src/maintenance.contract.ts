/// <reference types="jest" />
import { DESTINATION_REMOVED, type NewDelivery, type Store } from '@ferry/core';
import { attempt, ingestMany, LEASE_MS, leaseRequest, pending, T0, testEvent } from './fixtures';
import { contractDatabase, type StoreFactory } from './database';

/** Maintenance (`Maintenance`): replay, orphans, retention and erasure. */
export function describeMaintenanceContract(factory: StoreFactory): void {
  describe('maintenance', () => {
    const { open, deliveryOf } = contractDatabase(factory);

    describe('replay', () => {
      async function deadAndSkipped(store: Store) {
        await store.queue.ingest(
          testEvent('e1'),
          [pending('ct'), { destinationId: 'amp', state: 'skipped', reason: 'kind: not taken' }],
          T0,
        );
        await store.queue.ingest(testEvent('e2'), [pending('ct')], T0 + 1);
        const leased = await store.queue.lease(leaseRequest({ nowMs: T0 + 1 }));
        await store.queue.complete(
          [
            { deliveryId: leased[0].id, state: 'dead', attempt: attempt(400, '400: bad request', 'rejected') },
            { deliveryId: leased[1].id, state: 'delivered', attempt: attempt(200, null, 'delivered') },
          ],
          T0 + 2,
          'runner-a',
        );
        return { dead: leased[0].id, delivered: leased[1].id, skipped: (await deliveryOf(store, 'e1', 'amp')).id };
      }

      it('makes chosen dead or skipped deliveries pending again with a fresh window, attempts kept', async () => {
        const store = await open();
        const { dead, delivered, skipped } = await deadAndSkipped(store);
        const progress: number[] = [];

        expect(await store.maintenance.replay({ deliveryIds: [dead, delivered, 'unknown'] }, T0 + 100, (n) => progress.push(n))).toBe(1);
        expect(progress).toEqual([1]);
        expect(await deliveryOf(store, 'e1')).toMatchObject({
          id: dead,
          state: 'pending',
          attempts: 1,
          nextAttemptAtMs: T0 + 100,
          lastStatus: 400,
        });
        expect(await deliveryOf(store, 'e2')).toMatchObject({ state: 'delivered' });
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 100 }))).toMatchObject([
          { id: dead, attempts: 1, windowStartMs: T0 + 100 },
        ]);

        expect(await store.maintenance.replay({ eventIds: ['e1'] }, T0 + 200)).toBe(1);
        expect(await deliveryOf(store, 'e1', 'amp')).toMatchObject({ id: skipped, state: 'pending', nextAttemptAtMs: T0 + 200 });
        expect(await store.maintenance.replay({ eventIds: ['e2'], states: ['delivered'] }, T0 + 300)).toBe(1);
        expect(await deliveryOf(store, 'e2')).toMatchObject({ state: 'pending', deliveredAtMs: null });
        expect(await store.maintenance.replay({ eventIds: [] }, T0 + 300)).toBe(0);
      });

      it('replays a received-at window in chunks, reporting progress', async () => {
        const store = await open();
        const skipped = (destinationId: string): NewDelivery => ({ destinationId, state: 'skipped', reason: 'rule: reason' });
        await ingestMany(store, 1_200, 'e', [skipped('ct'), skipped('amp')]);
        const progress: number[] = [];

        // Events e-100 … e-1199 were received in [T0 + 100, T0 + 1300).
        const replayed = await store.maintenance.replay({ fromMs: T0 + 100, toMs: T0 + 1_300, destinationId: 'ct' }, T0 + 5_000, (n) =>
          progress.push(n),
        );
        expect(replayed).toBe(1_100);
        expect(progress).toEqual([500, 1_000, 1_100]);
        const counts = Object.fromEntries(
          (await store.log.stats(T0 + 5_000)).deliveries.map((d) => [`${d.destinationId}/${d.state}`, d.count]),
        );
        expect(counts).toEqual({ 'amp/skipped': 1_200, 'ct/pending': 1_100, 'ct/skipped': 100 });
        expect(await deliveryOf(store, 'e-99')).toMatchObject({ state: 'skipped' });
        expect(await deliveryOf(store, 'e-100')).toMatchObject({ state: 'pending', nextAttemptAtMs: T0 + 5_000 });
      });

      it('yields to the event loop between batches, so other work runs during a long replay', async () => {
        const store = await open();
        await ingestMany(store, 1_200, 'e', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const seen: string[] = [];
        const replaying = store.maintenance.replay({ fromMs: T0, toMs: T0 + 1_200 }, T0 + 5_000, (n) => seen.push(`replayed ${n}`));
        // A synchronous store that never yields runs this only after the whole replay.
        setImmediate(() => seen.push('other work'));
        expect(await replaying).toBe(1_200);
        expect(seen.indexOf('other work')).toBeGreaterThanOrEqual(0);
        expect(seen.indexOf('other work')).toBeLessThan(seen.indexOf('replayed 1200'));
      });

      it('counts what a replay would make pending, changing nothing, and the replay then replays exactly that many', async () => {
        const store = await open();
        const skipped = (destinationId: string): NewDelivery => ({ destinationId, state: 'skipped', reason: 'rule: reason' });
        await ingestMany(store, 1_100, 'e', [skipped('ct'), skipped('amp')]);
        const { dead, delivered } = await deadAndSkipped(store);
        const lastFifty = Array.from({ length: 50 }, (_, i) => `e-${1_050 + i}`);
        const cases: [Parameters<Store['maintenance']['countReplay']>[0], number][] = [
          [{ deliveryIds: [dead, dead, delivered, 'unknown'] }, 1],
          [{ eventIds: ['e1', 'e2', 'e1', 'e-5'], states: ['dead', 'skipped', 'delivered'] }, 4],
          [{ eventIds: ['e-6', 'e-7'], destinationId: 'ct' }, 2],
          [{ fromMs: T0 + 100, toMs: T0 + 1_050, destinationId: 'amp' }, 950],
          [{ fromMs: T0, toMs: T0 + 2_000, states: ['dead'] }, 0],
          // 550 ids, each event 11 times across two batches: counted once, as the replay replays it once.
          [{ eventIds: Array.from({ length: 11 }, () => lastFifty).flat(), destinationId: 'ct' }, 50],
          [{ fromMs: T0, toMs: T0 + 2_000 }, 2_201 - 3 - 2 - 950 - 50],
          [{ eventIds: [] }, 0],
        ];
        for (const [i, [selector, expected]] of cases.entries()) {
          const before = await store.log.stats(T0);
          const count = await store.maintenance.countReplay(selector);
          expect({ selector, count }).toEqual({ selector, count: expected });
          expect(await store.log.stats(T0)).toEqual(before);
          expect({ selector, replayed: await store.maintenance.replay(selector, T0 + 10_000 + i) }).toEqual({ selector, replayed: count });
          expect(await store.maintenance.countReplay(selector)).toBe(0);
        }
      });

      it('refuses a replay that selects nothing in particular', async () => {
        const store = await open();
        await expect(store.maintenance.replay({ destinationId: 'ct' }, T0)).rejects.toThrow(
          'replay: give deliveryIds, eventIds, or a fromMs/toMs window',
        );
      });
    });

    describe('retention and erasure', () => {
      const DAY = 86_400_000;
      /** Old events (received at T0) with one delivery to ct each, left in every state; `fresh` received at T0 + 10 days, delivered. */
      async function agedInEveryState(store: Store) {
        for (const id of ['delivered', 'dead', 'in_flight', 'two-final']) {
          await store.queue.ingest(
            testEvent(id),
            id === 'two-final' ? [pending(), { destinationId: 'amp', state: 'skipped', reason: 'r: x' }] : [pending()],
            T0,
          );
        }
        await store.queue.ingest(testEvent('skipped'), [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }], T0);
        await store.queue.ingest(testEvent('no-deliveries'), [], T0);
        const leased = await store.queue.lease(leaseRequest({ nowMs: T0 }));
        const idOf = (eventId: string) => leased.find((d) => d.eventId === eventId)!.id;
        await store.queue.complete(
          [
            { deliveryId: idOf('delivered'), state: 'delivered', attempt: attempt(200, null, 'delivered') },
            { deliveryId: idOf('two-final'), state: 'delivered', attempt: attempt(200, null, 'delivered') },
            { deliveryId: idOf('dead'), state: 'dead', attempt: attempt(400, 'HTTP 400', 'rejected') },
          ],
          T0,
          'runner-a',
        );
        // Waiting ones, as old: pending (due far later, so not leased above) and paused.
        await store.queue.ingest(testEvent('pending'), [pending('later')], T0);
        await store.queue.ingest(testEvent('paused'), [{ destinationId: 'ct', state: 'paused', reason: 'settings.apiKey' }], T0);
        await store.queue.ingest(testEvent('fresh'), [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }], T0 + 10 * DAY);
      }
      const eventIds = async (store: Store) => (await store.log.listEvents({ limit: 500 })).map((e) => e.id).sort();

      it('removes old events whose deliveries are all final, with their attempts; keeps anything waiting or in flight', async () => {
        const store = await open();
        await agedInEveryState(store);
        const attemptOf = (await store.log.getEvent('delivered'))!.deliveries[0];
        expect(attemptOf.attemptLog).toHaveLength(1);

        const progress: number[] = [];
        expect(await store.maintenance.prune({ finalBeforeMs: T0 + 1, deadBeforeMs: T0 }, (n) => progress.push(n))).toEqual({
          removed: 4,
          busy: false,
        });
        expect(progress[progress.length - 1]).toBe(4);
        expect(await eventIds(store)).toEqual(['dead', 'fresh', 'in_flight', 'paused', 'pending']);
        expect(await store.log.getEvent('delivered')).toBeUndefined();
        expect(await store.log.listDeliveries({ state: 'delivered' })).toEqual([]);
        expect((await store.log.stats(T0)).events).toBe(5);

        // Dead ones keep their event until the later cut-off; waiting and in-flight ones stay whatever their age.
        expect(await store.maintenance.prune({ finalBeforeMs: T0 + 100 * DAY, deadBeforeMs: T0 + 1 })).toEqual({ removed: 2, busy: false });
        expect(await eventIds(store)).toEqual(['in_flight', 'paused', 'pending']);
        expect((await store.log.listDeliveries({})).map((d) => d.state).sort()).toEqual(['in_flight', 'paused', 'pending']);
      });

      it('prunes in batches, walking past old events still waiting, and finds nothing the second time', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('waiting'), [pending('later')], T0 - 1);
        await ingestMany(store, 520, 'old', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const progress: number[] = [];
        expect(await store.maintenance.prune({ finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY }, (n) => progress.push(n))).toEqual({
          removed: 520,
          busy: false,
        });
        expect(progress.length).toBeGreaterThan(1);
        expect(await eventIds(store)).toEqual(['waiting']);
        expect(await store.maintenance.prune({ finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY })).toEqual({ removed: 0, busy: false });
      });

      it('stops between batches once its signal aborts', async () => {
        const store = await open();
        await ingestMany(store, 520, 'old', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const stop = new AbortController();
        const result = await store.maintenance.prune({ finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY }, () => stop.abort(), stop.signal);
        expect(result.removed).toBeGreaterThan(0);
        expect(result.removed).toBeLessThan(520);
        expect((await store.log.stats(T0)).events).toBe(520 - result.removed);
      });

      it('removes each old event once when two stores on one database prune at once', async () => {
        const [a, b] = [await open(), await open()];
        await ingestMany(a, 600, 'old', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const cutoffs = { finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY };
        const [first, second] = await Promise.all([a.maintenance.prune(cutoffs), b.maintenance.prune(cutoffs)]);
        // Whoever stood aside (Postgres, busy) leaves the rest to the next round: run it.
        const rest = first.busy || second.busy ? await a.maintenance.prune(cutoffs) : { removed: 0 };
        expect(first.removed + second.removed + rest.removed).toBe(600);
        expect(await eventIds(a)).toEqual([]);
      });

      it('erases every event naming the user in any of its user ids, whatever its state, with its deliveries and attempts', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('own', { userId: 'alice' }), [pending()], T0);
        await store.queue.ingest(
          testEvent('alias', { userId: 'anon-1', userIds: ['anon-1', 'alice'] }),
          [pending(), pending('amp')],
          T0 + 1,
        );
        await store.queue.ingest(testEvent('transfer', { userId: null, userIds: ['bob', 'alice'] }), [], T0 + 2);
        await store.queue.ingest(
          testEvent('paused', { userId: 'alice' }),
          [{ destinationId: 'ct', state: 'paused', reason: 'settings.apiKey' }],
          T0 + 3,
        );
        await store.queue.ingest(testEvent('other', { userId: 'bob', userIds: ['bob', 'alice-2'] }), [pending()], T0 + 4);
        const leased = await store.queue.lease(leaseRequest({ nowMs: T0 + 10 }));
        const own = leased.find((d) => d.eventId === 'own')!.id;
        await store.queue.complete(
          [{ deliveryId: own, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 10,
          'runner-a',
        );

        expect(await store.maintenance.erase('alice')).toBe(4);
        expect(await eventIds(store)).toEqual(['other']);
        expect((await store.log.listDeliveries({})).map((d) => d.eventId)).toEqual(['other']);
        expect(await store.log.listEvents({ userId: 'alice' })).toEqual([]);
        await store.queue.ingest(testEvent('alice-again', { userId: 'alice', timestampMs: T0 - 5_000 }), [pending()], T0 + 20);
        expect(await store.maintenance.erase('alice')).toBe(1);
        expect(await store.maintenance.erase('nobody')).toBe(0);
        expect((await store.log.stats(T0)).events).toBe(1);
      });

      it('erases deliveries another store holds: its renewal and late answer find nothing, and nothing of them is leased again', async () => {
        const [holder, eraser] = [await open(), await open()];
        await holder.queue.ingest(testEvent('e1', { userId: 'alice' }), [pending()], T0);
        const leased = await holder.queue.lease(leaseRequest({ nowMs: T0, owner: 'runner-b' }));
        expect(leased).toHaveLength(1);

        expect(await eraser.maintenance.erase('alice')).toBe(1);
        expect(await holder.queue.heldLeases([leased[0].id], 'runner-b')).toEqual([]);
        expect(
          await holder.queue.renewLeases({ deliveryIds: [leased[0].id], owner: 'runner-b', nowMs: T0 + 1, leaseMs: LEASE_MS }),
        ).toEqual([]);
        await holder.queue.complete(
          [{ deliveryId: leased[0].id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 2,
          'runner-b',
        );
        expect(await holder.log.getEvent('e1')).toBeUndefined();
        expect(await holder.log.listDeliveries({})).toEqual([]);
        expect(await holder.queue.lease(leaseRequest({ nowMs: T0 + 2 * LEASE_MS }))).toEqual([]);
      });
    });

    describe('orphans: deliveries of a destination no longer configured', () => {
      /** e1…e4 to `gone`: delivered, paused, pending (due at T0 + 2), and in flight until T0 + 1 + LEASE_MS. */
      async function orphans(store: Store) {
        await store.queue.ingest(testEvent('e1'), [pending('gone')], T0);
        await store.queue.ingest(testEvent('e2'), [{ destinationId: 'gone', state: 'paused', reason: 'settings.apiKey' }], T0);
        await store.queue.ingest(testEvent('e3'), [pending('gone')], T0 + 2);
        await store.queue.ingest(testEvent('e4'), [pending('gone')], T0 + 1);
        const [delivered] = await store.queue.lease(leaseRequest({ destinationId: 'gone', limit: 1, nowMs: T0 }));
        await store.queue.complete(
          [{ deliveryId: delivered.id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0,
          'runner-a',
        );
        await store.queue.lease(leaseRequest({ destinationId: 'gone', limit: 1, nowMs: T0 + 1 }));
        const states = async () =>
          Object.fromEntries((await store.log.listDeliveries({ destinationId: 'gone' })).map((d) => [d.eventId, d.state]));
        expect(await states()).toEqual({ e1: 'delivered', e2: 'paused', e3: 'pending', e4: 'in_flight' });
        return states;
      }

      it('drops waiting ones as skipped with rule destination_removed, visibly; in-flight ones once their lease expired', async () => {
        const store = await open();
        const states = await orphans(store);
        expect(await store.maintenance.dropOrphans('gone', T0 + 10)).toBe(2);
        expect(await states()).toEqual({ e1: 'delivered', e2: 'skipped', e3: 'skipped', e4: 'in_flight' });
        expect(await deliveryOf(store, 'e3', 'gone')).toMatchObject({ lastError: DESTINATION_REMOVED, nextAttemptAtMs: null });
        expect(await store.maintenance.dropOrphans('gone', T0 + LEASE_MS + 2)).toBe(1);
        expect(await states()).toEqual({ e1: 'delivered', e2: 'skipped', e3: 'skipped', e4: 'skipped' });
        expect(await store.queue.lease(leaseRequest({ destinationId: 'gone', nowMs: T0 + 2 * LEASE_MS }))).toEqual([]);
        expect((await store.log.stats(T0)).events).toBe(4);
      });

      it('reassigns waiting ones to another destination, due at once; an event already sent there keeps its own', async () => {
        const store = await open();
        const states = await orphans(store);
        await store.queue.ingest(testEvent('e5'), [pending('gone'), pending('ct')], T0 + 2);
        expect(await store.maintenance.reassignOrphans('gone', 'ct', T0 + 10)).toEqual({ reassigned: 2, kept: 1 });
        expect(await states()).toEqual({ e1: 'delivered', e4: 'in_flight', e5: 'pending' });
        const moved = await store.log.listDeliveries({ destinationId: 'ct' });
        expect(Object.fromEntries(moved.map((d) => [d.eventId, d.state]))).toEqual({ e2: 'pending', e3: 'pending', e5: 'pending' });
        const leased = await store.queue.lease(leaseRequest({ destinationId: 'ct', nowMs: T0 + 10 }));
        expect(leased.map((d) => d.eventId).sort()).toEqual(['e2', 'e3', 'e5']);
        expect(leased.find((d) => d.eventId === 'e2')).toMatchObject({ windowStartMs: T0 + 10 });
      });
    });
  });
}
