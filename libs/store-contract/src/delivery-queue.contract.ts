/// <reference types="jest" />
import { INTERRUPTED_ERROR, interruptedTooOftenError, MAX_INTERRUPTIONS, type DeliveryUpdate, type NewDelivery } from '@ferry/core';
import { attempt, ingestMany, LEASE_MS, leaseRequest, pending, T0, testEvent } from './fixtures';
import { contractDatabase, type StoreFactory } from './database';

/** The delivery queue (`DeliveryQueue`): ingest, lease, renew, complete, release and pause moves. */
export function describeDeliveryQueueContract(factory: StoreFactory): void {
  describe('the delivery queue', () => {
    const { open, deliveryOf } = contractDatabase(factory);

    describe('ingest', () => {
      it('stores the event and one delivery per destination, in the state planned', async () => {
        const store = await open();
        const deliveries: NewDelivery[] = [
          pending('ct'),
          { destinationId: 'amp', state: 'skipped', reason: 'sandbox: sandbox events are not sent' },
          { destinationId: 'mix', state: 'paused', reason: 'settings.passcode' },
        ];
        await expect(store.queue.ingest(testEvent('e1'), deliveries, T0)).resolves.toBe('stored');

        const detail = await store.log.getEvent('e1');
        expect(detail).toMatchObject({ ...testEvent('e1'), receivedAtMs: T0 });
        const byDestination = Object.fromEntries(detail!.deliveries.map((d) => [d.destinationId, d]));
        expect(byDestination.ct).toMatchObject({
          eventId: 'e1',
          state: 'pending',
          attempts: 0,
          nextAttemptAtMs: T0,
          lastError: null,
          createdAtMs: T0,
        });
        expect(byDestination.amp).toMatchObject({
          state: 'skipped',
          nextAttemptAtMs: null,
          lastError: 'sandbox: sandbox events are not sent',
        });
        expect(byDestination.mix).toMatchObject({ state: 'paused', lastError: 'settings.passcode' });
        expect(detail!.deliveries.every((d) => d.attemptLog.length === 0)).toBe(true);
        expect(new Set(detail!.deliveries.map((d) => d.id)).size).toBe(3);
      });

      it('answers duplicate for a known event id and writes nothing', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('e1'), [pending('ct')], T0);
        await expect(store.queue.ingest(testEvent('e1', { type: 'RENEWAL' }), [pending('ct'), pending('amp')], T0 + 5)).resolves.toBe(
          'duplicate',
        );

        const detail = await store.log.getEvent('e1');
        expect(detail).toMatchObject({ type: 'INITIAL_PURCHASE', receivedAtMs: T0 });
        expect(detail!.deliveries.map((d) => d.destinationId)).toEqual(['ct']);
      });

      it('stores one of two copies arriving at two stores on the same database at once', async () => {
        const [a, b] = await Promise.all([open(), open()]);
        const results = await Promise.all([
          a.queue.ingest(testEvent('e1'), [pending()], T0),
          b.queue.ingest(testEvent('e1'), [pending()], T0),
        ]);
        expect(results.sort()).toEqual(['duplicate', 'stored']);
        expect((await a.log.getEvent('e1'))!.deliveries).toHaveLength(1);
      });

      it('fails only the bad event when a shared transaction fails', async () => {
        const store = await open();
        const results = await Promise.allSettled([
          store.queue.ingest(testEvent('good-1'), [pending()], T0),
          // Two deliveries to one destination break the unique (event, destination) rule.
          store.queue.ingest(testEvent('bad'), [pending('ct'), pending('ct')], T0),
          store.queue.ingest(testEvent('good-2'), [pending()], T0),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(await store.log.getEvent('good-1')).toBeDefined();
        expect(await store.log.getEvent('good-2')).toBeDefined();
        expect(await store.log.getEvent('bad')).toBeUndefined();
      });

      it('keeps what it committed across a restart', async () => {
        const first = await open();
        await first.queue.ingest(testEvent('e1'), [pending()], T0);
        await first.close();
        const second = await open();
        expect(await second.log.getEvent('e1')).toMatchObject({ id: 'e1', deliveries: [{ state: 'pending' }] });
      });

      it('finishes ingests already submitted when closed, and refuses new ones', async () => {
        const store = await open();
        const submitted = store.queue.ingest(testEvent('e1'), [pending()], T0);
        await store.close();
        await expect(submitted).resolves.toBe('stored');
        await expect(store.queue.ingest(testEvent('e2'), [pending()], T0)).rejects.toThrow('store is closed');
        await expect(store.ping()).rejects.toThrow();
        const reopened = await open();
        expect(await reopened.log.getEvent('e1')).toBeDefined();
      });
    });

    describe('lease and complete', () => {
      it('leases due deliveries oldest first, once, with the event body', async () => {
        const store = await open();
        await ingestMany(store, 3);
        await store.queue.ingest(testEvent('other'), [pending('amp')], T0);

        const first = await store.queue.lease(leaseRequest({ limit: 2, nowMs: T0 + 10 }));
        expect(first.map((d) => d.eventId)).toEqual(['e-0', 'e-1']);
        expect(first[0]).toMatchObject({ destinationId: 'ct', attempts: 0, windowStartMs: T0, body: testEvent('e-0').body });
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'in_flight', leaseUntilMs: T0 + 10 + LEASE_MS });

        expect((await store.queue.lease(leaseRequest({ nowMs: T0 + 10 }))).map((d) => d.eventId)).toEqual(['e-2']);
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 10 }))).toEqual([]);
        expect(await store.queue.lease(leaseRequest({ limit: 0, destinationId: 'amp' }))).toEqual([]);
      });

      it('leases each delivery with the source its event came through, which decodes its body', async () => {
        const store = await open();
        // `revenuecat`: what every store written before sources were configurable holds.
        await store.queue.ingest(testEvent('from-default'), [pending()], T0);
        await store.queue.ingest(testEvent('from-android', { source: 'android' }), [pending()], T0 + 1);
        const leased = await store.queue.lease(leaseRequest({ nowMs: T0 + 10 }));
        expect(leased.map(({ eventId, source }) => ({ eventId, source }))).toEqual([
          { eventId: 'from-default', source: 'revenuecat' },
          { eventId: 'from-android', source: 'android' },
        ]);
      });

      it('honours retry times: a delivery is not leased before it is due', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('e1'), [pending()], T0);
        const [leased] = await store.queue.lease(leaseRequest());
        await store.queue.complete(
          [{ deliveryId: leased.id, state: 'pending', nextAttemptAtMs: T0 + 5_000, attempt: attempt(503, 'HTTP 503') }],
          T0 + 20,
          'runner-a',
        );

        expect(await deliveryOf(store, 'e1')).toMatchObject({
          state: 'pending',
          attempts: 1,
          nextAttemptAtMs: T0 + 5_000,
          leaseUntilMs: null,
          lastStatus: 503,
          lastError: 'HTTP 503',
        });
        expect(await store.queue.nextDueAtMs('ct')).toBe(T0 + 5_000);
        expect(await store.queue.nextDueAtMs('nowhere')).toBeUndefined();
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 4_999 }))).toEqual([]);
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 5_000 }))).toMatchObject([{ id: leased.id, attempts: 1 }]);
      });

      it('walks a delivery through retry to dead, logging every attempt and keeping the last error', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('e1'), [pending()], T0);
        let [leased] = await store.queue.lease(leaseRequest());
        await store.queue.complete(
          [{ deliveryId: leased.id, state: 'pending', nextAttemptAtMs: T0 + 1, attempt: attempt(500, 'HTTP 500: boom') }],
          T0,
          'runner-a',
        );
        [leased] = await store.queue.lease(leaseRequest({ nowMs: T0 + 1 }));
        await store.queue.complete(
          [{ deliveryId: leased.id, state: 'dead', attempt: attempt(null, 'timeout after 10000 ms') }],
          T0 + 2,
          'runner-a',
        );

        const delivery = (await store.log.getEvent('e1'))!.deliveries[0];
        expect(delivery).toMatchObject({
          state: 'dead',
          attempts: 2,
          nextAttemptAtMs: null,
          lastStatus: null,
          lastError: 'timeout after 10000 ms',
          deliveredAtMs: null,
          updatedAtMs: T0 + 2,
        });
        expect(delivery.attemptLog).toEqual([
          { deliveryId: leased.id, number: 1, ...attempt(500, 'HTTP 500: boom') },
          { deliveryId: leased.id, number: 2, ...attempt(null, 'timeout after 10000 ms') },
        ]);
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 10 * LEASE_MS }))).toEqual([]);
      });

      it('applies a mixed batch of outcomes in one call', async () => {
        const store = await open();
        await ingestMany(store, 4);
        const leased = await store.queue.lease(leaseRequest({ nowMs: T0 + 10 }));
        const [delivered, retried, rejected, skipped] = leased.map((d) => d.id);
        const updates: DeliveryUpdate[] = [
          { deliveryId: delivered, state: 'delivered', attempt: attempt(200, null, 'delivered') },
          { deliveryId: retried, state: 'pending', nextAttemptAtMs: T0 + 1_000, attempt: attempt(429, 'HTTP 429') },
          { deliveryId: rejected, state: 'dead', attempt: attempt(200, null, 'rejected'), lastStatus: 200, lastError: '509: bad identity' },
          // Re-filtered by the dispatcher: no request was made.
          { deliveryId: skipped, state: 'skipped', lastError: 'event_name: expiration is switched off' },
        ];
        await store.queue.complete(updates, T0 + 50, 'runner-a');

        expect(await deliveryOf(store, 'e-0')).toMatchObject({
          state: 'delivered',
          attempts: 1,
          deliveredAtMs: T0 + 50,
          lastStatus: 200,
          lastError: null,
        });
        expect(await deliveryOf(store, 'e-1')).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAtMs: T0 + 1_000 });
        expect(await deliveryOf(store, 'e-2')).toMatchObject({
          state: 'dead',
          attempts: 1,
          lastStatus: 200,
          lastError: '509: bad identity',
        });
        expect(await deliveryOf(store, 'e-3')).toMatchObject({
          state: 'skipped',
          attempts: 0,
          lastError: 'event_name: expiration is switched off',
        });
        expect((await store.log.getEvent('e-3'))!.deliveries[0].attemptLog).toEqual([]);
      });

      it('gives no delivery to two leasers at once', async () => {
        const stores = await Promise.all([open(), open(), open()]);
        await ingestMany(stores[0], 300);
        const leasedIds: string[] = [];
        // Twelve leasers over three separate stores (three pools or connections), until nothing is left.
        await Promise.all(
          Array.from({ length: 12 }, async (_, i) => {
            for (;;) {
              const batch = await stores[i % 3].queue.lease(leaseRequest({ limit: 7, owner: `runner-${i}`, nowMs: T0 + 1_000 }));
              if (batch.length === 0) return;
              leasedIds.push(...batch.map((d) => d.id));
            }
          }),
        );
        expect(leasedIds).toHaveLength(300);
        expect(new Set(leasedIds).size).toBe(300);
      });

      it('takes expired leases before due pending deliveries', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('stalled'), [pending()], T0 + 5);
        const [stalled] = await store.queue.lease(leaseRequest({ nowMs: T0 + 5, leaseMs: 1_000 }));
        await store.queue.ingest(testEvent('due'), [pending()], T0);

        expect(await store.queue.lease(leaseRequest({ limit: 1, nowMs: T0 + 2_000, owner: 'runner-b' }))).toMatchObject([
          { id: stalled.id },
        ]);
        expect(await store.queue.lease(leaseRequest({ limit: 1, nowMs: T0 + 2_000, owner: 'runner-b' }))).toMatchObject([
          { eventId: 'due' },
        ]);
      });

      it('takes over an expired lease, and ignores the late answer of its former holder', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('e1'), [pending()], T0);
        const [held] = await store.queue.lease(leaseRequest({ owner: 'runner-a', leaseMs: 1_000 }));

        expect(await store.queue.lease(leaseRequest({ owner: 'runner-b', nowMs: T0 + 1_000 }))).toEqual([]);
        const [takenOver] = await store.queue.lease(leaseRequest({ owner: 'runner-b', nowMs: T0 + 1_001 }));
        // Taken over, the first try counts as an interrupted attempt.
        expect(takenOver).toMatchObject({ id: held.id, body: testEvent('e1').body, attempts: 1 });
        expect(await deliveryOf(store, 'e1')).toMatchObject({ state: 'in_flight', leaseUntilMs: T0 + 1_001 + LEASE_MS });

        // The former holder answers late, while runner-b still holds the lease: its outcome must not land.
        await store.queue.complete(
          [{ deliveryId: held.id, state: 'pending', nextAttemptAtMs: T0 + 9_000, attempt: attempt(503, 'late') }],
          T0 + 1_050,
          'runner-a',
        );
        expect(await deliveryOf(store, 'e1')).toMatchObject({ state: 'in_flight', attempts: 1 });

        await store.queue.complete(
          [{ deliveryId: held.id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 1_100,
          'runner-b',
        );
        await store.queue.complete(
          [{ deliveryId: held.id, state: 'pending', nextAttemptAtMs: T0 + 9_000, attempt: attempt(503, 'late') }],
          T0 + 1_200,
          'runner-a',
        );
        const delivery = (await store.log.getEvent('e1'))!.deliveries[0];
        expect(delivery).toMatchObject({ state: 'delivered', attempts: 2, deliveredAtMs: T0 + 1_100 });
        expect(delivery.attemptLog.map((a) => a.error)).toEqual([INTERRUPTED_ERROR, null]);
      });

      it('stops leasing once the bodies reach maxBytes, taking at least one delivery however large', async () => {
        const store = await open();
        // Bodies of over 1,000 UTF-8 bytes each (the two-byte "é" counts twice), oldest first.
        const sized = (id: string) => testEvent(id, { body: JSON.stringify({ id, pad: 'é'.repeat(500) }) });
        const bytes = (id: string) => Buffer.byteLength(sized(id).body);
        for (let i = 0; i < 5; i++) await store.queue.ingest(sized(`big-${i}`), [pending()], T0 + i);
        expect(bytes('big-0')).toBeGreaterThan(1_000);

        const two = await store.queue.lease(leaseRequest({ nowMs: T0 + 10, maxBytes: bytes('big-0') + bytes('big-1') }));
        expect(two.map((d) => d.eventId)).toEqual(['big-0', 'big-1']);
        const one = await store.queue.lease(leaseRequest({ nowMs: T0 + 10, maxBytes: 1 }));
        expect(one.map((d) => d.eventId)).toEqual(['big-2']);
        // Just short of two bodies: the second would pass the cap, so only one.
        const short = await store.queue.lease(leaseRequest({ nowMs: T0 + 10, maxBytes: bytes('big-3') + bytes('big-4') - 1 }));
        expect(short.map((d) => d.eventId)).toEqual(['big-3']);
        // Expired leases taken over count against the same cap.
        const takenOver = await store.queue.lease(
          leaseRequest({ nowMs: T0 + 10 + LEASE_MS + 1, owner: 'runner-b', maxBytes: 3 * bytes('big-0') }),
        );
        expect(takenOver).toHaveLength(3);
      });

      it('counts a lease taken over as an interrupted attempt, and sets aside a delivery interrupted too often', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('poison'), [pending()], T0);
        let nowMs = T0;
        const takeOver = () => store.queue.lease(leaseRequest({ nowMs: (nowMs += LEASE_MS + 1), owner: `runner-${nowMs}` }));
        await store.queue.lease(leaseRequest({ nowMs }));
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) expect(await takeOver()).toMatchObject([{ eventId: 'poison', attempts: i }]);

        expect(await takeOver()).toEqual([]);
        const delivery = await deliveryOf(store, 'poison');
        expect(delivery).toMatchObject({
          state: 'dead',
          attempts: MAX_INTERRUPTIONS,
          leaseUntilMs: null,
          lastError: interruptedTooOftenError(MAX_INTERRUPTIONS),
        });
        expect(delivery.attemptLog.map((a) => [a.number, a.outcome, a.status, a.error])).toEqual(
          Array.from({ length: MAX_INTERRUPTIONS }, (_, i) => [i + 1, 'retry', null, INTERRUPTED_ERROR]),
        );

        // Replayed, it gets a fresh count of interruptions.
        await store.maintenance.replay({ eventIds: ['poison'] }, nowMs);
        await store.queue.lease(leaseRequest({ nowMs }));
        expect(await takeOver()).toMatchObject([{ eventId: 'poison', attempts: MAX_INTERRUPTIONS + 1 }]);
      });

      it('counts interruptions in a row: an attempt that completes starts the count again', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('e1'), [pending()], T0);
        let nowMs = T0;
        const takeOver = () => store.queue.lease(leaseRequest({ nowMs: (nowMs += LEASE_MS + 1), owner: 'runner-b' }));
        await store.queue.lease(leaseRequest({ nowMs }));
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) await takeOver();
        const [held] = await takeOver().then(() => []);
        expect(held).toBeUndefined();
        expect(await deliveryOf(store, 'e1')).toMatchObject({ state: 'dead' });

        await store.queue.ingest(testEvent('e2'), [pending()], nowMs);
        await store.queue.lease(leaseRequest({ nowMs }));
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) await takeOver();
        const [retried] = await store.log.listDeliveries({ state: 'in_flight' });
        await store.queue.complete(
          [{ deliveryId: retried.id, state: 'pending', nextAttemptAtMs: nowMs, attempt: attempt(503, 'HTTP 503') }],
          nowMs,
          'runner-b',
        );
        await store.queue.lease(leaseRequest({ nowMs }));
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) expect(await takeOver()).toMatchObject([{ eventId: 'e2' }]);
        expect(await deliveryOf(store, 'e2')).toMatchObject({ state: 'in_flight', attempts: 2 * MAX_INTERRUPTIONS - 1 });
      });

      it('counts a lease released at start as an interrupted attempt, and sets aside a delivery interrupted too often', async () => {
        const store = await open();
        await store.queue.ingest(testEvent('poison'), [pending()], T0);
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) {
          await store.queue.lease(leaseRequest({ nowMs: T0 + i }));
          expect(await store.queue.releaseLeases()).toBe(1);
          expect(await deliveryOf(store, 'poison')).toMatchObject({ state: 'pending', attempts: i, lastError: INTERRUPTED_ERROR });
        }
        await store.queue.lease(leaseRequest({ nowMs: T0 + MAX_INTERRUPTIONS }));
        expect(await store.queue.releaseLeases()).toBe(1);
        expect(await deliveryOf(store, 'poison')).toMatchObject({
          state: 'dead',
          attempts: MAX_INTERRUPTIONS,
          lastError: interruptedTooOftenError(MAX_INTERRUPTIONS),
        });
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 10 * LEASE_MS }))).toEqual([]);
      });

      it('renews the owner’s leases while their batch is sent, and tells which were lost', async () => {
        const store = await open();
        await ingestMany(store, 3);
        const leased = await store.queue.lease(leaseRequest({ nowMs: T0 + 10, leaseMs: 1_000 }));
        const ids = leased.map((d) => d.id);
        expect(await store.queue.renewLeases({ deliveryIds: ids, owner: 'runner-a', nowMs: T0 + 900, leaseMs: 1_000 })).toEqual(
          expect.arrayContaining(ids),
        );
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'in_flight', leaseUntilMs: T0 + 1_900, updatedAtMs: T0 + 900 });
        // Renewed, the leases outlive their first expiry: nobody can take them over.
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 1_500, owner: 'runner-b' }))).toEqual([]);

        // One completes, one is taken over after expiring: neither is held any more.
        await store.queue.complete(
          [{ deliveryId: ids[0], state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 1_600,
          'runner-a',
        );
        await store.queue.renewLeases({ deliveryIds: [ids[2]], owner: 'runner-a', nowMs: T0 + 1_800, leaseMs: 1_000 });
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 2_000, owner: 'runner-b' }))).toMatchObject([{ id: ids[1] }]);
        expect(await store.queue.heldLeases(ids, 'runner-a')).toEqual([ids[2]]);
        expect(await store.queue.heldLeases(ids, 'runner-b')).toEqual([ids[1]]);
        const before = await deliveryOf(store, 'e-2');
        const renewed = await store.queue.renewLeases({ deliveryIds: ids, owner: 'runner-a', nowMs: T0 + 2_100, leaseMs: 1_000 });
        expect(renewed).toEqual([ids[2]]);
        // Looking writes nothing: the renewal above is what moved the lease on.
        expect(before).toMatchObject({ leaseUntilMs: T0 + 2_800 });
        expect(await store.queue.renewLeases({ deliveryIds: [], owner: 'runner-a', nowMs: T0, leaseMs: 1_000 })).toEqual([]);
        expect(await store.queue.heldLeases([], 'runner-a')).toEqual([]);
      });

      it('releases in-flight leases: one owner’s, or all', async () => {
        const store = await open();
        await ingestMany(store, 3, 'e', [pending('ct'), pending('amp')]);
        const a = await store.queue.lease(leaseRequest({ owner: 'runner-a', limit: 2, nowMs: T0 + 10 }));
        await store.queue.lease(leaseRequest({ owner: 'runner-b', destinationId: 'amp', limit: 1 }));

        expect(await store.queue.releaseLeases('runner-a')).toBe(2);
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'pending', leaseUntilMs: null });
        expect(await deliveryOf(store, 'e-0', 'amp')).toMatchObject({ state: 'in_flight' });
        expect(await store.queue.releaseLeases()).toBe(1);
        expect(await store.queue.releaseLeases()).toBe(0);

        // An answer for a released lease changes nothing (the release counted the interrupted attempt).
        await store.queue.complete(
          [{ deliveryId: a[0].id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 5,
          'runner-a',
        );
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'pending', attempts: 1 });
        expect((await store.queue.lease(leaseRequest({ nowMs: T0 + 5 }))).map((d) => d.eventId)).toEqual(['e-0', 'e-1', 'e-2']);
      });

      it('pauses a destination, probes it, and resumes it', async () => {
        const store = await open();
        await ingestMany(store, 3, 'e', [pending('ct'), pending('amp')]);
        const [probe] = await store.queue.lease(leaseRequest({ limit: 1 }));
        await store.queue.complete(
          [{ deliveryId: probe.id, state: 'paused', attempt: attempt(401, 'HTTP 401', 'auth_failed') }],
          T0 + 10,
          'runner-a',
        );

        expect(await store.queue.setPaused('ct', true, T0 + 20)).toBe(2);
        expect((await store.log.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['paused', 'paused', 'paused']);
        expect(await deliveryOf(store, 'e-0', 'amp')).toMatchObject({ state: 'pending' });
        expect(await store.queue.lease(leaseRequest({ nowMs: T0 + LEASE_MS }))).toEqual([]);
        expect(await store.queue.nextDueAtMs('ct')).toBeUndefined();

        const probed = await store.queue.lease(leaseRequest({ from: 'paused', limit: 1, nowMs: T0 + 30 }));
        expect(probed).toMatchObject([{ eventId: 'e-0', attempts: 1 }]);
        await store.queue.complete(
          [{ deliveryId: probed[0].id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 40,
          'runner-a',
        );

        expect(await store.queue.setPaused('ct', false, T0 + 50)).toBe(2);
        expect(await store.queue.setPaused('ct', false, T0 + 50)).toBe(0);
        expect(await store.queue.nextDueAtMs('ct')).toBe(T0 + 50);
        expect((await store.queue.lease(leaseRequest({ nowMs: T0 + 50 }))).map((d) => d.eventId).sort()).toEqual(['e-1', 'e-2']);
      });
    });
  });
}
