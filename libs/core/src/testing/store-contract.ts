/// <reference types="jest" />
// Test support shipped as `@ferry/core/testing`: the suite runs inside the consumer's Jest.
import { allows, DELIVERY_STATES, stateAfter, statesFrom, type DeliveryState, type DeliveryTransition } from '../delivery-states';
import {
  DESTINATION_REMOVED,
  INTERRUPTED_ERROR,
  interruptedTooOftenError,
  MAX_INTERRUPTIONS,
  StoreInputError,
  type DeliveryUpdate,
  type DestinationPause,
  type IngestEvent,
  type LeaseRequest,
  type NewDelivery,
  type Store,
} from '../store/index';
import { describeAlertContract } from './alert-contract';
import { describeStateMarks } from './state-contract';

/**
 * The `Store` contract the engine and runner rely on, as one Jest suite: `@ferry/store` runs it on SQLite
 * and Postgres, and the engine on its in-memory double, so the double cannot drift from the real thing.
 */
export interface StoreBackend {
  /** A fresh, empty database. */
  fresh(): Promise<StoreDatabase>;
}

export interface StoreDatabase {
  /** A store on this database, migrated; may be called several times (a restart, several runners sharing it). */
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

export const T0 = 1_700_000_000_000;
const LEASE_MS = 60_000;

/** Ingests events `prefix-0` … `prefix-(n-1)`, received one millisecond apart from `T0`, and expects each stored. */
export async function ingestMany(store: Store, n: number, prefix = 'e', deliveries: readonly NewDelivery[] = [pending()]): Promise<void> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => store.ingest(testEvent(`${prefix}-${i}`), deliveries, T0 + i)));
  expect(results.every((r) => r === 'stored')).toBe(true);
}

export function testEvent(id: string, overrides: Partial<IngestEvent> = {}): IngestEvent {
  return {
    id,
    source: 'revenuecat',
    type: 'INITIAL_PURCHASE',
    kind: 'initial_purchase',
    userId: 'user-1',
    environment: 'PRODUCTION',
    timestampMs: T0 - 1_000,
    body: JSON.stringify({ api_version: '1.0', event: { id } }),
    ...overrides,
  };
}

export const pending = (destinationId = 'ct'): NewDelivery => ({ destinationId, state: 'pending' });

function leaseRequest(overrides: Partial<LeaseRequest> = {}): LeaseRequest {
  return { destinationId: 'ct', limit: 100, nowMs: T0, leaseMs: LEASE_MS, owner: 'runner-a', ...overrides };
}

const attempt = (
  status: number | null,
  error: string | null = null,
  outcome: 'delivered' | 'retry' | 'rejected' | 'auth_failed' = 'retry',
) => ({
  startedAtMs: T0,
  durationMs: 12,
  status,
  outcome,
  error,
});

export function describeStoreContract(backend: StoreBackend): void {
  describe('the Store contract', () => {
    let database: StoreDatabase;
    let opened: Store[];

    async function open(): Promise<Store> {
      const store = await database.open();
      opened.push(store);
      return store;
    }

    async function deliveryOf(store: Store, eventId: string, destinationId = 'ct') {
      const detail = await store.getEvent(eventId);
      const delivery = detail?.deliveries.find((d) => d.destinationId === destinationId);
      if (!delivery) throw new Error(`no delivery of ${eventId} to ${destinationId}`);
      return delivery;
    }

    beforeEach(async () => {
      database = await backend.fresh();
      opened = [];
    });

    afterEach(async () => {
      await Promise.all(opened.map((store) => store.close()));
      await database.dispose();
    });

    describe('ingest', () => {
      it('stores the event and one delivery per destination, in the state planned', async () => {
        const store = await open();
        const deliveries: NewDelivery[] = [
          pending('ct'),
          { destinationId: 'amp', state: 'skipped', reason: 'sandbox: sandbox events are not sent' },
          { destinationId: 'mix', state: 'paused', reason: 'settings.passcode' },
        ];
        await expect(store.ingest(testEvent('e1'), deliveries, T0)).resolves.toBe('stored');

        const detail = await store.getEvent('e1');
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
        await store.ingest(testEvent('e1'), [pending('ct')], T0);
        await expect(store.ingest(testEvent('e1', { type: 'RENEWAL' }), [pending('ct'), pending('amp')], T0 + 5)).resolves.toBe(
          'duplicate',
        );

        const detail = await store.getEvent('e1');
        expect(detail).toMatchObject({ type: 'INITIAL_PURCHASE', receivedAtMs: T0 });
        expect(detail!.deliveries.map((d) => d.destinationId)).toEqual(['ct']);
      });

      it('stores one of two copies arriving at two stores on the same database at once', async () => {
        const [a, b] = await Promise.all([open(), open()]);
        const results = await Promise.all([a.ingest(testEvent('e1'), [pending()], T0), b.ingest(testEvent('e1'), [pending()], T0)]);
        expect(results.sort()).toEqual(['duplicate', 'stored']);
        expect((await a.getEvent('e1'))!.deliveries).toHaveLength(1);
      });

      it('fails only the bad event when a shared transaction fails', async () => {
        const store = await open();
        const results = await Promise.allSettled([
          store.ingest(testEvent('good-1'), [pending()], T0),
          // Two deliveries to one destination break the unique (event, destination) rule.
          store.ingest(testEvent('bad'), [pending('ct'), pending('ct')], T0),
          store.ingest(testEvent('good-2'), [pending()], T0),
        ]);
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect(await store.getEvent('good-1')).toBeDefined();
        expect(await store.getEvent('good-2')).toBeDefined();
        expect(await store.getEvent('bad')).toBeUndefined();
      });

      it('keeps what it committed across a restart', async () => {
        const first = await open();
        await first.ingest(testEvent('e1'), [pending()], T0);
        await first.close();
        const second = await open();
        expect(await second.getEvent('e1')).toMatchObject({ id: 'e1', deliveries: [{ state: 'pending' }] });
      });

      it('finishes ingests already submitted when closed, and refuses new ones', async () => {
        const store = await open();
        const submitted = store.ingest(testEvent('e1'), [pending()], T0);
        await store.close();
        await expect(submitted).resolves.toBe('stored');
        await expect(store.ingest(testEvent('e2'), [pending()], T0)).rejects.toThrow('store is closed');
        await expect(store.ping()).rejects.toThrow();
        const reopened = await open();
        expect(await reopened.getEvent('e1')).toBeDefined();
      });
    });

    describe('lease and complete', () => {
      it('leases due deliveries oldest first, once, with the event body', async () => {
        const store = await open();
        await ingestMany(store, 3);
        await store.ingest(testEvent('other'), [pending('amp')], T0);

        const first = await store.lease(leaseRequest({ limit: 2, nowMs: T0 + 10 }));
        expect(first.map((d) => d.eventId)).toEqual(['e-0', 'e-1']);
        expect(first[0]).toMatchObject({ destinationId: 'ct', attempts: 0, windowStartMs: T0, body: testEvent('e-0').body });
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'in_flight', leaseUntilMs: T0 + 10 + LEASE_MS });

        expect((await store.lease(leaseRequest({ nowMs: T0 + 10 }))).map((d) => d.eventId)).toEqual(['e-2']);
        expect(await store.lease(leaseRequest({ nowMs: T0 + 10 }))).toEqual([]);
        expect(await store.lease(leaseRequest({ limit: 0, destinationId: 'amp' }))).toEqual([]);
      });

      it('honours retry times: a delivery is not leased before it is due', async () => {
        const store = await open();
        await store.ingest(testEvent('e1'), [pending()], T0);
        const [leased] = await store.lease(leaseRequest());
        await store.complete(
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
        expect(await store.nextDueAtMs('ct')).toBe(T0 + 5_000);
        expect(await store.nextDueAtMs('nowhere')).toBeUndefined();
        expect(await store.lease(leaseRequest({ nowMs: T0 + 4_999 }))).toEqual([]);
        expect(await store.lease(leaseRequest({ nowMs: T0 + 5_000 }))).toMatchObject([{ id: leased.id, attempts: 1 }]);
      });

      it('walks a delivery through retry to dead, logging every attempt and keeping the last error', async () => {
        const store = await open();
        await store.ingest(testEvent('e1'), [pending()], T0);
        let [leased] = await store.lease(leaseRequest());
        await store.complete(
          [{ deliveryId: leased.id, state: 'pending', nextAttemptAtMs: T0 + 1, attempt: attempt(500, 'HTTP 500: boom') }],
          T0,
          'runner-a',
        );
        [leased] = await store.lease(leaseRequest({ nowMs: T0 + 1 }));
        await store.complete(
          [{ deliveryId: leased.id, state: 'dead', attempt: attempt(null, 'timeout after 10000 ms') }],
          T0 + 2,
          'runner-a',
        );

        const delivery = (await store.getEvent('e1'))!.deliveries[0];
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
        expect(await store.lease(leaseRequest({ nowMs: T0 + 10 * LEASE_MS }))).toEqual([]);
      });

      it('applies a mixed batch of outcomes in one call', async () => {
        const store = await open();
        await ingestMany(store, 4);
        const leased = await store.lease(leaseRequest({ nowMs: T0 + 10 }));
        const [delivered, retried, rejected, skipped] = leased.map((d) => d.id);
        const updates: DeliveryUpdate[] = [
          { deliveryId: delivered, state: 'delivered', attempt: attempt(200, null, 'delivered') },
          { deliveryId: retried, state: 'pending', nextAttemptAtMs: T0 + 1_000, attempt: attempt(429, 'HTTP 429') },
          { deliveryId: rejected, state: 'dead', attempt: attempt(200, null, 'rejected'), lastStatus: 200, lastError: '509: bad identity' },
          // Re-filtered by the dispatcher: no request was made.
          { deliveryId: skipped, state: 'skipped', lastError: 'event_name: expiration is switched off' },
        ];
        await store.complete(updates, T0 + 50, 'runner-a');

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
        expect((await store.getEvent('e-3'))!.deliveries[0].attemptLog).toEqual([]);
      });

      it('gives no delivery to two leasers at once', async () => {
        const stores = await Promise.all([open(), open(), open()]);
        await ingestMany(stores[0], 300);
        const leasedIds: string[] = [];
        // Twelve leasers over three separate stores (three pools or connections), until nothing is left.
        await Promise.all(
          Array.from({ length: 12 }, async (_, i) => {
            for (;;) {
              const batch = await stores[i % 3].lease(leaseRequest({ limit: 7, owner: `runner-${i}`, nowMs: T0 + 1_000 }));
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
        await store.ingest(testEvent('stalled'), [pending()], T0 + 5);
        const [stalled] = await store.lease(leaseRequest({ nowMs: T0 + 5, leaseMs: 1_000 }));
        await store.ingest(testEvent('due'), [pending()], T0);

        expect(await store.lease(leaseRequest({ limit: 1, nowMs: T0 + 2_000, owner: 'runner-b' }))).toMatchObject([{ id: stalled.id }]);
        expect(await store.lease(leaseRequest({ limit: 1, nowMs: T0 + 2_000, owner: 'runner-b' }))).toMatchObject([{ eventId: 'due' }]);
      });

      it('takes over an expired lease, and ignores the late answer of its former holder', async () => {
        const store = await open();
        await store.ingest(testEvent('e1'), [pending()], T0);
        const [held] = await store.lease(leaseRequest({ owner: 'runner-a', leaseMs: 1_000 }));

        expect(await store.lease(leaseRequest({ owner: 'runner-b', nowMs: T0 + 1_000 }))).toEqual([]);
        const [takenOver] = await store.lease(leaseRequest({ owner: 'runner-b', nowMs: T0 + 1_001 }));
        // Taken over, the first try counts as an interrupted attempt.
        expect(takenOver).toMatchObject({ id: held.id, body: testEvent('e1').body, attempts: 1 });
        expect(await deliveryOf(store, 'e1')).toMatchObject({ state: 'in_flight', leaseUntilMs: T0 + 1_001 + LEASE_MS });

        // The former holder answers late, while runner-b still holds the lease: its outcome must not land.
        await store.complete(
          [{ deliveryId: held.id, state: 'pending', nextAttemptAtMs: T0 + 9_000, attempt: attempt(503, 'late') }],
          T0 + 1_050,
          'runner-a',
        );
        expect(await deliveryOf(store, 'e1')).toMatchObject({ state: 'in_flight', attempts: 1 });

        await store.complete(
          [{ deliveryId: held.id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 1_100,
          'runner-b',
        );
        await store.complete(
          [{ deliveryId: held.id, state: 'pending', nextAttemptAtMs: T0 + 9_000, attempt: attempt(503, 'late') }],
          T0 + 1_200,
          'runner-a',
        );
        const delivery = (await store.getEvent('e1'))!.deliveries[0];
        expect(delivery).toMatchObject({ state: 'delivered', attempts: 2, deliveredAtMs: T0 + 1_100 });
        expect(delivery.attemptLog.map((a) => a.error)).toEqual([INTERRUPTED_ERROR, null]);
      });

      it('stops leasing once the bodies reach maxBytes, taking at least one delivery however large', async () => {
        const store = await open();
        // Bodies of over 1,000 UTF-8 bytes each (the two-byte "é" counts twice), oldest first.
        const sized = (id: string) => testEvent(id, { body: JSON.stringify({ id, pad: 'é'.repeat(500) }) });
        const bytes = (id: string) => Buffer.byteLength(sized(id).body);
        for (let i = 0; i < 5; i++) await store.ingest(sized(`big-${i}`), [pending()], T0 + i);
        expect(bytes('big-0')).toBeGreaterThan(1_000);

        const two = await store.lease(leaseRequest({ nowMs: T0 + 10, maxBytes: bytes('big-0') + bytes('big-1') }));
        expect(two.map((d) => d.eventId)).toEqual(['big-0', 'big-1']);
        const one = await store.lease(leaseRequest({ nowMs: T0 + 10, maxBytes: 1 }));
        expect(one.map((d) => d.eventId)).toEqual(['big-2']);
        // Just short of two bodies: the second would pass the cap, so only one.
        const short = await store.lease(leaseRequest({ nowMs: T0 + 10, maxBytes: bytes('big-3') + bytes('big-4') - 1 }));
        expect(short.map((d) => d.eventId)).toEqual(['big-3']);
        // Expired leases taken over count against the same cap.
        const takenOver = await store.lease(
          leaseRequest({ nowMs: T0 + 10 + LEASE_MS + 1, owner: 'runner-b', maxBytes: 3 * bytes('big-0') }),
        );
        expect(takenOver).toHaveLength(3);
      });

      it('counts a lease taken over as an interrupted attempt, and sets aside a delivery interrupted too often', async () => {
        const store = await open();
        await store.ingest(testEvent('poison'), [pending()], T0);
        let nowMs = T0;
        const takeOver = () => store.lease(leaseRequest({ nowMs: (nowMs += LEASE_MS + 1), owner: `runner-${nowMs}` }));
        await store.lease(leaseRequest({ nowMs }));
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
        await store.replay({ eventIds: ['poison'] }, nowMs);
        await store.lease(leaseRequest({ nowMs }));
        expect(await takeOver()).toMatchObject([{ eventId: 'poison', attempts: MAX_INTERRUPTIONS + 1 }]);
      });

      it('counts interruptions in a row: an attempt that completes starts the count again', async () => {
        const store = await open();
        await store.ingest(testEvent('e1'), [pending()], T0);
        let nowMs = T0;
        const takeOver = () => store.lease(leaseRequest({ nowMs: (nowMs += LEASE_MS + 1), owner: 'runner-b' }));
        await store.lease(leaseRequest({ nowMs }));
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) await takeOver();
        const [held] = await takeOver().then(() => []);
        expect(held).toBeUndefined();
        expect(await deliveryOf(store, 'e1')).toMatchObject({ state: 'dead' });

        await store.ingest(testEvent('e2'), [pending()], nowMs);
        await store.lease(leaseRequest({ nowMs }));
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) await takeOver();
        const [retried] = await store.listDeliveries({ state: 'in_flight' });
        await store.complete(
          [{ deliveryId: retried.id, state: 'pending', nextAttemptAtMs: nowMs, attempt: attempt(503, 'HTTP 503') }],
          nowMs,
          'runner-b',
        );
        await store.lease(leaseRequest({ nowMs }));
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) expect(await takeOver()).toMatchObject([{ eventId: 'e2' }]);
        expect(await deliveryOf(store, 'e2')).toMatchObject({ state: 'in_flight', attempts: 2 * MAX_INTERRUPTIONS - 1 });
      });

      it('counts a lease released at start as an interrupted attempt, and sets aside a delivery interrupted too often', async () => {
        const store = await open();
        await store.ingest(testEvent('poison'), [pending()], T0);
        for (let i = 1; i < MAX_INTERRUPTIONS; i++) {
          await store.lease(leaseRequest({ nowMs: T0 + i }));
          expect(await store.releaseLeases()).toBe(1);
          expect(await deliveryOf(store, 'poison')).toMatchObject({ state: 'pending', attempts: i, lastError: INTERRUPTED_ERROR });
        }
        await store.lease(leaseRequest({ nowMs: T0 + MAX_INTERRUPTIONS }));
        expect(await store.releaseLeases()).toBe(1);
        expect(await deliveryOf(store, 'poison')).toMatchObject({
          state: 'dead',
          attempts: MAX_INTERRUPTIONS,
          lastError: interruptedTooOftenError(MAX_INTERRUPTIONS),
        });
        expect(await store.lease(leaseRequest({ nowMs: T0 + 10 * LEASE_MS }))).toEqual([]);
      });

      it('renews the owner’s leases while their batch is sent, and tells which were lost', async () => {
        const store = await open();
        await ingestMany(store, 3);
        const leased = await store.lease(leaseRequest({ nowMs: T0 + 10, leaseMs: 1_000 }));
        const ids = leased.map((d) => d.id);
        expect(await store.renewLeases({ deliveryIds: ids, owner: 'runner-a', nowMs: T0 + 900, leaseMs: 1_000 })).toEqual(
          expect.arrayContaining(ids),
        );
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'in_flight', leaseUntilMs: T0 + 1_900, updatedAtMs: T0 + 900 });
        // Renewed, the leases outlive their first expiry: nobody can take them over.
        expect(await store.lease(leaseRequest({ nowMs: T0 + 1_500, owner: 'runner-b' }))).toEqual([]);

        // One completes, one is taken over after expiring: neither is held any more.
        await store.complete(
          [{ deliveryId: ids[0], state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 1_600,
          'runner-a',
        );
        await store.renewLeases({ deliveryIds: [ids[2]], owner: 'runner-a', nowMs: T0 + 1_800, leaseMs: 1_000 });
        expect(await store.lease(leaseRequest({ nowMs: T0 + 2_000, owner: 'runner-b' }))).toMatchObject([{ id: ids[1] }]);
        expect(await store.heldLeases(ids, 'runner-a')).toEqual([ids[2]]);
        expect(await store.heldLeases(ids, 'runner-b')).toEqual([ids[1]]);
        const before = await deliveryOf(store, 'e-2');
        const renewed = await store.renewLeases({ deliveryIds: ids, owner: 'runner-a', nowMs: T0 + 2_100, leaseMs: 1_000 });
        expect(renewed).toEqual([ids[2]]);
        // Looking writes nothing: the renewal above is what moved the lease on.
        expect(before).toMatchObject({ leaseUntilMs: T0 + 2_800 });
        expect(await store.renewLeases({ deliveryIds: [], owner: 'runner-a', nowMs: T0, leaseMs: 1_000 })).toEqual([]);
        expect(await store.heldLeases([], 'runner-a')).toEqual([]);
      });

      it('releases in-flight leases: one owner’s, or all', async () => {
        const store = await open();
        await ingestMany(store, 3, 'e', [pending('ct'), pending('amp')]);
        const a = await store.lease(leaseRequest({ owner: 'runner-a', limit: 2, nowMs: T0 + 10 }));
        await store.lease(leaseRequest({ owner: 'runner-b', destinationId: 'amp', limit: 1 }));

        expect(await store.releaseLeases('runner-a')).toBe(2);
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'pending', leaseUntilMs: null });
        expect(await deliveryOf(store, 'e-0', 'amp')).toMatchObject({ state: 'in_flight' });
        expect(await store.releaseLeases()).toBe(1);
        expect(await store.releaseLeases()).toBe(0);

        // An answer for a released lease changes nothing (the release counted the interrupted attempt).
        await store.complete([{ deliveryId: a[0].id, state: 'delivered', attempt: attempt(200, null, 'delivered') }], T0 + 5, 'runner-a');
        expect(await deliveryOf(store, 'e-0')).toMatchObject({ state: 'pending', attempts: 1 });
        expect((await store.lease(leaseRequest({ nowMs: T0 + 5 }))).map((d) => d.eventId)).toEqual(['e-0', 'e-1', 'e-2']);
      });

      it('pauses a destination, probes it, and resumes it', async () => {
        const store = await open();
        await ingestMany(store, 3, 'e', [pending('ct'), pending('amp')]);
        const [probe] = await store.lease(leaseRequest({ limit: 1 }));
        await store.complete(
          [{ deliveryId: probe.id, state: 'paused', attempt: attempt(401, 'HTTP 401', 'auth_failed') }],
          T0 + 10,
          'runner-a',
        );

        expect(await store.setPaused('ct', true, T0 + 20)).toBe(2);
        expect((await store.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['paused', 'paused', 'paused']);
        expect(await deliveryOf(store, 'e-0', 'amp')).toMatchObject({ state: 'pending' });
        expect(await store.lease(leaseRequest({ nowMs: T0 + LEASE_MS }))).toEqual([]);
        expect(await store.nextDueAtMs('ct')).toBeUndefined();

        const probed = await store.lease(leaseRequest({ from: 'paused', limit: 1, nowMs: T0 + 30 }));
        expect(probed).toMatchObject([{ eventId: 'e-0', attempts: 1 }]);
        await store.complete(
          [{ deliveryId: probed[0].id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 40,
          'runner-a',
        );

        expect(await store.setPaused('ct', false, T0 + 50)).toBe(2);
        expect(await store.setPaused('ct', false, T0 + 50)).toBe(0);
        expect(await store.nextDueAtMs('ct')).toBe(T0 + 50);
        expect((await store.lease(leaseRequest({ nowMs: T0 + 50 }))).map((d) => d.eventId).sort()).toEqual(['e-1', 'e-2']);
      });
    });

    describe('destination pauses', () => {
      const pauseOf = (
        cause: 'operator' | 'credentials',
        sinceMs: number,
        overrides: Partial<DestinationPause> = {},
      ): DestinationPause => ({
        destinationId: 'ct',
        cause,
        reason: `${cause} reason`,
        sinceMs,
        setBy: 'runner-a',
        ...overrides,
      });

      it('keeps a pause for every store on the database, and parks the pending deliveries with it', async () => {
        const store = await open();
        await ingestMany(store, 2, 'e', [pending('ct'), pending('amp')]);
        expect(await store.destinationPauses()).toEqual([]);

        expect(await store.pauseDestination(pauseOf('operator', T0 + 10))).toEqual(pauseOf('operator', T0 + 10));
        expect((await store.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['paused', 'paused']);
        expect(await deliveryOf(store, 'e-0', 'amp')).toMatchObject({ state: 'pending' });

        const other = await open(); // another runner, or the same one after a restart
        expect(await other.destinationPauses()).toEqual([pauseOf('operator', T0 + 10)]);
        expect(await other.destinationPauses('ct')).toEqual([pauseOf('operator', T0 + 10)]);
        expect(await other.destinationPauses('amp')).toEqual([]);
      });

      it("lets an operator's pause replace a credentials pause, never the reverse, and keeps a repeated pause as it was", async () => {
        const store = await open();
        await store.pauseDestination(pauseOf('credentials', T0 + 10));
        expect(await store.pauseDestination(pauseOf('credentials', T0 + 20, { reason: 'again' }))).toEqual(pauseOf('credentials', T0 + 10));
        expect(await store.pauseDestination(pauseOf('operator', T0 + 30, { setBy: 'runner-b' }))).toEqual(
          pauseOf('operator', T0 + 30, { setBy: 'runner-b' }),
        );
        expect(await store.pauseDestination(pauseOf('credentials', T0 + 40))).toEqual(pauseOf('operator', T0 + 30, { setBy: 'runner-b' }));
        expect(await store.pauseDestination(pauseOf('operator', T0 + 50))).toEqual(pauseOf('operator', T0 + 30, { setBy: 'runner-b' }));
        expect(await store.destinationPauses()).toEqual([pauseOf('operator', T0 + 30, { setBy: 'runner-b' })]);
      });

      it('resumes only the cause asked for, and makes the paused deliveries due once no pause is left', async () => {
        const store = await open();
        await ingestMany(store, 2);
        await store.pauseDestination(pauseOf('operator', T0 + 10));

        // A probe that got through cannot end an operator's pause.
        expect(await store.resumeDestination('ct', T0 + 20, 'credentials')).toEqual(pauseOf('operator', T0 + 10));
        expect((await store.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['paused', 'paused']);

        expect(await store.resumeDestination('ct', T0 + 30)).toBeUndefined();
        expect(await store.destinationPauses()).toEqual([]);
        expect((await store.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['pending', 'pending']);
        expect(await store.nextDueAtMs('ct')).toBe(T0 + 30);
        expect(await store.resumeDestination('ct', T0 + 40)).toBeUndefined();

        await store.pauseDestination(pauseOf('credentials', T0 + 50));
        expect(await store.resumeDestination('ct', T0 + 60, 'credentials')).toBeUndefined();
        expect((await store.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['pending', 'pending']);
      });

      it('keeps one pause when two stores pause the same destination at once', async () => {
        const [a, b] = [await open(), await open()];
        const [first, second] = await Promise.all([
          a.pauseDestination(pauseOf('credentials', T0 + 10, { setBy: 'runner-a' })),
          b.pauseDestination(pauseOf('credentials', T0 + 10, { setBy: 'runner-b' })),
        ]);
        expect(first).toEqual(second);
        expect(await a.destinationPauses()).toEqual([first]);
      });
    });

    describeAlertContract(open);

    describe('transitions', () => {
      const OWNER = 'runner-a';
      /** Events `<destination>-<state>`, each with one delivery to `destinationId` in that state. */
      async function oneInEveryState(store: Store, destinationId: string): Promise<Map<string, DeliveryState>> {
        const eventOf = (state: DeliveryState) => testEvent(`${destinationId}-${state}`);
        for (const state of ['in_flight', 'delivered', 'dead'] as const) await store.ingest(eventOf(state), [pending(destinationId)], T0);
        const leased = await store.lease(leaseRequest({ destinationId, nowMs: T0, owner: OWNER }));
        const idOf = (state: DeliveryState) => leased.find((d) => d.eventId === eventOf(state).id)!.id;
        await store.complete(
          [
            { deliveryId: idOf('delivered'), state: 'delivered', attempt: attempt(200, null, 'delivered') },
            { deliveryId: idOf('dead'), state: 'dead', attempt: attempt(400, 'HTTP 400', 'rejected') },
          ],
          T0,
          OWNER,
        );
        // Due later than the leased ones, so the lease above could not take the pending one.
        await store.ingest(eventOf('pending'), [pending(destinationId)], T0 + 10);
        await store.ingest(eventOf('skipped'), [{ destinationId, state: 'skipped', reason: 'rule: reason' }], T0 + 10);
        await store.ingest(eventOf('paused'), [{ destinationId, state: 'paused', reason: 'settings.apiKey' }], T0 + 10);
        const states = new Map<string, DeliveryState>();
        for (const d of await store.listDeliveries({ destinationId })) states.set(d.eventId, d.state);
        expect([...states.values()].sort()).toEqual([...DELIVERY_STATES].sort());
        return states;
      }

      type Apply = (store: Store, destinationId: string) => Promise<readonly { eventId: string }[] | void>;
      const completeAll =
        (state: DeliveryUpdate['state']): Apply =>
        async (store, destinationId) => {
          const deliveries = await store.listDeliveries({ destinationId });
          await store.complete(
            deliveries.map((d) => ({ deliveryId: d.id, state, attempt: attempt(200, null, 'delivered') })),
            T0 + 100,
            OWNER,
          );
        };
      const operations: { name: string; transitions: DeliveryTransition[]; apply: Apply }[] = [
        {
          name: 'lease',
          transitions: ['lease'],
          apply: (store, destinationId) => store.lease(leaseRequest({ destinationId, nowMs: T0 + 100 })),
        },
        {
          name: 'lease after the leases expired',
          transitions: ['takeOver', 'lease'],
          apply: (store, destinationId) => store.lease(leaseRequest({ destinationId, nowMs: T0 + LEASE_MS + 1, owner: 'runner-b' })),
        },
        {
          name: 'lease from paused (probe)',
          transitions: ['probe'],
          apply: (store, destinationId) => store.lease(leaseRequest({ destinationId, from: 'paused', nowMs: T0 + 100 })),
        },
        { name: 'complete as delivered', transitions: ['deliver'], apply: completeAll('delivered') },
        { name: 'complete as pending (retry)', transitions: ['retry'], apply: completeAll('pending') },
        { name: 'complete as dead', transitions: ['kill'], apply: completeAll('dead') },
        { name: 'complete as paused', transitions: ['authPause'], apply: completeAll('paused') },
        { name: 'complete as skipped', transitions: ['skip'], apply: completeAll('skipped') },
        { name: 'releaseLeases', transitions: ['release'], apply: async (store) => void (await store.releaseLeases()) },
        { name: 'setPaused(true)', transitions: ['pause'], apply: async (store, id) => void (await store.setPaused(id, true, T0 + 100)) },
        {
          name: 'setPaused(false)',
          transitions: ['resume'],
          apply: async (store, id) => void (await store.setPaused(id, false, T0 + 100)),
        },
        {
          name: 'dropOrphans once the leases expired',
          transitions: ['dropOrphan'],
          apply: async (store, id) => void (await store.dropOrphans(id, T0 + LEASE_MS + 1)),
        },
        {
          name: 'pauseDestination',
          transitions: ['pause'],
          apply: async (store, destinationId) =>
            void (await store.pauseDestination({ destinationId, cause: 'operator', reason: 'test', sinceMs: T0 + 100, setBy: OWNER })),
        },
        {
          name: 'resumeDestination',
          transitions: ['resume'],
          apply: async (store, id) => void (await store.resumeDestination(id, T0 + 100)),
        },
        {
          name: 'replay of every state',
          transitions: ['replay'],
          apply: async (store, destinationId) => {
            const ids = (await store.listDeliveries({ destinationId })).map((d) => d.id);
            // Asked for every state, the store still replays only those the table allows.
            await store.replay({ deliveryIds: ids, states: DELIVERY_STATES as never }, T0 + 100);
          },
        },
      ];

      it.each(operations)('$name changes only the states the transition table allows', async ({ transitions, apply }) => {
        const store = await open();
        const before = await oneInEveryState(store, 'walk');
        const leased = await apply(store, 'walk');

        const expected = (state: DeliveryState) => {
          const transition = transitions.find((candidate) => allows(candidate, state));
          return transition ? stateAfter(transition) : state;
        };
        const after = new Map((await store.listDeliveries({ destinationId: 'walk' })).map((d) => [d.eventId, d.state]));
        for (const [eventId, state] of before) expect(`${state} → ${after.get(eventId)}`).toBe(`${state} → ${expected(state)}`);
        if (leased) {
          const taken = transitions.flatMap((transition) => statesFrom(transition)).map((state) => `walk-${state}`);
          expect(leased.map((d) => d.eventId).sort()).toEqual(taken.sort());
        }
      });
    });

    describe('replay', () => {
      async function deadAndSkipped(store: Store) {
        await store.ingest(testEvent('e1'), [pending('ct'), { destinationId: 'amp', state: 'skipped', reason: 'kind: not taken' }], T0);
        await store.ingest(testEvent('e2'), [pending('ct')], T0 + 1);
        const leased = await store.lease(leaseRequest({ nowMs: T0 + 1 }));
        await store.complete(
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

        expect(await store.replay({ deliveryIds: [dead, delivered, 'unknown'] }, T0 + 100, (n) => progress.push(n))).toBe(1);
        expect(progress).toEqual([1]);
        expect(await deliveryOf(store, 'e1')).toMatchObject({
          id: dead,
          state: 'pending',
          attempts: 1,
          nextAttemptAtMs: T0 + 100,
          lastStatus: 400,
        });
        expect(await deliveryOf(store, 'e2')).toMatchObject({ state: 'delivered' });
        expect(await store.lease(leaseRequest({ nowMs: T0 + 100 }))).toMatchObject([{ id: dead, attempts: 1, windowStartMs: T0 + 100 }]);

        expect(await store.replay({ eventIds: ['e1'] }, T0 + 200)).toBe(1);
        expect(await deliveryOf(store, 'e1', 'amp')).toMatchObject({ id: skipped, state: 'pending', nextAttemptAtMs: T0 + 200 });
        expect(await store.replay({ eventIds: ['e2'], states: ['delivered'] }, T0 + 300)).toBe(1);
        expect(await deliveryOf(store, 'e2')).toMatchObject({ state: 'pending', deliveredAtMs: null });
        expect(await store.replay({ eventIds: [] }, T0 + 300)).toBe(0);
      });

      it('replays a received-at window in chunks, reporting progress', async () => {
        const store = await open();
        const skipped = (destinationId: string): NewDelivery => ({ destinationId, state: 'skipped', reason: 'rule: reason' });
        await ingestMany(store, 1_200, 'e', [skipped('ct'), skipped('amp')]);
        const progress: number[] = [];

        // Events e-100 … e-1199 were received in [T0 + 100, T0 + 1300).
        const replayed = await store.replay({ fromMs: T0 + 100, toMs: T0 + 1_300, destinationId: 'ct' }, T0 + 5_000, (n) =>
          progress.push(n),
        );
        expect(replayed).toBe(1_100);
        expect(progress).toEqual([500, 1_000, 1_100]);
        const counts = Object.fromEntries(
          (await store.stats(T0 + 5_000)).deliveries.map((d) => [`${d.destinationId}/${d.state}`, d.count]),
        );
        expect(counts).toEqual({ 'amp/skipped': 1_200, 'ct/pending': 1_100, 'ct/skipped': 100 });
        expect(await deliveryOf(store, 'e-99')).toMatchObject({ state: 'skipped' });
        expect(await deliveryOf(store, 'e-100')).toMatchObject({ state: 'pending', nextAttemptAtMs: T0 + 5_000 });
      });

      it('yields to the event loop between batches, so other work runs during a long replay', async () => {
        const store = await open();
        await ingestMany(store, 1_200, 'e', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const seen: string[] = [];
        const replaying = store.replay({ fromMs: T0, toMs: T0 + 1_200 }, T0 + 5_000, (n) => seen.push(`replayed ${n}`));
        // A synchronous store that never yields runs this only after the whole replay.
        setImmediate(() => seen.push('other work'));
        expect(await replaying).toBe(1_200);
        expect(seen.indexOf('other work')).toBeGreaterThanOrEqual(0);
        expect(seen.indexOf('other work')).toBeLessThan(seen.indexOf('replayed 1200'));
      });

      it('refuses a replay that selects nothing in particular', async () => {
        const store = await open();
        await expect(store.replay({ destinationId: 'ct' }, T0)).rejects.toThrow(
          'replay: give deliveryIds, eventIds, or a fromMs/toMs window',
        );
      });
    });

    describeStateMarks({ open, event: testEvent });

    describe('retention and erasure', () => {
      const DAY = 86_400_000;
      /** Old events (received at T0) with one delivery to ct each, left in every state; `fresh` received at T0 + 10 days, delivered. */
      async function agedInEveryState(store: Store) {
        for (const id of ['delivered', 'dead', 'in_flight', 'two-final']) {
          await store.ingest(
            testEvent(id),
            id === 'two-final' ? [pending(), { destinationId: 'amp', state: 'skipped', reason: 'r: x' }] : [pending()],
            T0,
          );
        }
        await store.ingest(testEvent('skipped'), [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }], T0);
        await store.ingest(testEvent('no-deliveries'), [], T0);
        const leased = await store.lease(leaseRequest({ nowMs: T0 }));
        const idOf = (eventId: string) => leased.find((d) => d.eventId === eventId)!.id;
        await store.complete(
          [
            { deliveryId: idOf('delivered'), state: 'delivered', attempt: attempt(200, null, 'delivered') },
            { deliveryId: idOf('two-final'), state: 'delivered', attempt: attempt(200, null, 'delivered') },
            { deliveryId: idOf('dead'), state: 'dead', attempt: attempt(400, 'HTTP 400', 'rejected') },
          ],
          T0,
          'runner-a',
        );
        // Waiting ones, as old: pending (due far later, so not leased above) and paused.
        await store.ingest(testEvent('pending'), [pending('later')], T0);
        await store.ingest(testEvent('paused'), [{ destinationId: 'ct', state: 'paused', reason: 'settings.apiKey' }], T0);
        await store.ingest(testEvent('fresh'), [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }], T0 + 10 * DAY);
      }
      const eventIds = async (store: Store) => (await store.listEvents({ limit: 500 })).map((e) => e.id).sort();

      it('removes old events whose deliveries are all final, with their attempts; keeps anything waiting or in flight', async () => {
        const store = await open();
        await agedInEveryState(store);
        const attemptOf = (await store.getEvent('delivered'))!.deliveries[0];
        expect(attemptOf.attemptLog).toHaveLength(1);

        const progress: number[] = [];
        expect(await store.prune({ finalBeforeMs: T0 + 1, deadBeforeMs: T0 }, (n) => progress.push(n))).toEqual({
          removed: 4,
          busy: false,
        });
        expect(progress[progress.length - 1]).toBe(4);
        expect(await eventIds(store)).toEqual(['dead', 'fresh', 'in_flight', 'paused', 'pending']);
        expect(await store.getEvent('delivered')).toBeUndefined();
        expect(await store.listDeliveries({ state: 'delivered' })).toEqual([]);
        expect((await store.stats(T0)).events).toBe(5);

        // Dead ones keep their event until the later cut-off; waiting and in-flight ones stay whatever their age.
        expect(await store.prune({ finalBeforeMs: T0 + 100 * DAY, deadBeforeMs: T0 + 1 })).toEqual({ removed: 2, busy: false });
        expect(await eventIds(store)).toEqual(['in_flight', 'paused', 'pending']);
        expect((await store.listDeliveries({})).map((d) => d.state).sort()).toEqual(['in_flight', 'paused', 'pending']);
      });

      it('prunes in batches, walking past old events still waiting, and finds nothing the second time', async () => {
        const store = await open();
        await store.ingest(testEvent('waiting'), [pending('later')], T0 - 1);
        await ingestMany(store, 520, 'old', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const progress: number[] = [];
        expect(await store.prune({ finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY }, (n) => progress.push(n))).toEqual({
          removed: 520,
          busy: false,
        });
        expect(progress.length).toBeGreaterThan(1);
        expect(await eventIds(store)).toEqual(['waiting']);
        expect(await store.prune({ finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY })).toEqual({ removed: 0, busy: false });
      });

      it('stops between batches once its signal aborts', async () => {
        const store = await open();
        await ingestMany(store, 520, 'old', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const stop = new AbortController();
        const result = await store.prune({ finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY }, () => stop.abort(), stop.signal);
        expect(result.removed).toBeGreaterThan(0);
        expect(result.removed).toBeLessThan(520);
        expect((await store.stats(T0)).events).toBe(520 - result.removed);
      });

      it('removes each old event once when two stores on one database prune at once', async () => {
        const [a, b] = [await open(), await open()];
        await ingestMany(a, 600, 'old', [{ destinationId: 'ct', state: 'skipped', reason: 'rule: reason' }]);
        const cutoffs = { finalBeforeMs: T0 + DAY, deadBeforeMs: T0 + DAY };
        const [first, second] = await Promise.all([a.prune(cutoffs), b.prune(cutoffs)]);
        // Whoever stood aside (Postgres, busy) leaves the rest to the next round: run it.
        const rest = first.busy || second.busy ? await a.prune(cutoffs) : { removed: 0 };
        expect(first.removed + second.removed + rest.removed).toBe(600);
        expect(await eventIds(a)).toEqual([]);
      });

      it('erases every event naming the user in any of its user ids, whatever its state, with its deliveries and attempts', async () => {
        const store = await open();
        await store.ingest(testEvent('own', { userId: 'alice' }), [pending()], T0);
        await store.ingest(testEvent('alias', { userId: 'anon-1', userIds: ['anon-1', 'alice'] }), [pending(), pending('amp')], T0 + 1);
        await store.ingest(testEvent('transfer', { userId: null, userIds: ['bob', 'alice'] }), [], T0 + 2);
        await store.ingest(
          testEvent('paused', { userId: 'alice' }),
          [{ destinationId: 'ct', state: 'paused', reason: 'settings.apiKey' }],
          T0 + 3,
        );
        await store.ingest(testEvent('other', { userId: 'bob', userIds: ['bob', 'alice-2'] }), [pending()], T0 + 4);
        const leased = await store.lease(leaseRequest({ nowMs: T0 + 10 }));
        const own = leased.find((d) => d.eventId === 'own')!.id;
        await store.complete([{ deliveryId: own, state: 'delivered', attempt: attempt(200, null, 'delivered') }], T0 + 10, 'runner-a');

        expect(await store.erase('alice')).toBe(4);
        expect(await eventIds(store)).toEqual(['other']);
        expect((await store.listDeliveries({})).map((d) => d.eventId)).toEqual(['other']);
        expect(await store.listEvents({ userId: 'alice' })).toEqual([]);
        await store.ingest(testEvent('alice-again', { userId: 'alice', timestampMs: T0 - 5_000 }), [pending()], T0 + 20);
        expect(await store.erase('alice')).toBe(1);
        expect(await store.erase('nobody')).toBe(0);
        expect((await store.stats(T0)).events).toBe(1);
      });

      it('erases deliveries another store holds: its renewal and late answer find nothing, and nothing of them is leased again', async () => {
        const [holder, eraser] = [await open(), await open()];
        await holder.ingest(testEvent('e1', { userId: 'alice' }), [pending()], T0);
        const leased = await holder.lease(leaseRequest({ nowMs: T0, owner: 'runner-b' }));
        expect(leased).toHaveLength(1);

        expect(await eraser.erase('alice')).toBe(1);
        expect(await holder.heldLeases([leased[0].id], 'runner-b')).toEqual([]);
        expect(await holder.renewLeases({ deliveryIds: [leased[0].id], owner: 'runner-b', nowMs: T0 + 1, leaseMs: LEASE_MS })).toEqual([]);
        await holder.complete(
          [{ deliveryId: leased[0].id, state: 'delivered', attempt: attempt(200, null, 'delivered') }],
          T0 + 2,
          'runner-b',
        );
        expect(await holder.getEvent('e1')).toBeUndefined();
        expect(await holder.listDeliveries({})).toEqual([]);
        expect(await holder.lease(leaseRequest({ nowMs: T0 + 2 * LEASE_MS }))).toEqual([]);
      });
    });

    describe('orphans: deliveries of a destination no longer configured', () => {
      /** e1…e4 to `gone`: delivered, paused, pending (due at T0 + 2), and in flight until T0 + 1 + LEASE_MS. */
      async function orphans(store: Store) {
        await store.ingest(testEvent('e1'), [pending('gone')], T0);
        await store.ingest(testEvent('e2'), [{ destinationId: 'gone', state: 'paused', reason: 'settings.apiKey' }], T0);
        await store.ingest(testEvent('e3'), [pending('gone')], T0 + 2);
        await store.ingest(testEvent('e4'), [pending('gone')], T0 + 1);
        const [delivered] = await store.lease(leaseRequest({ destinationId: 'gone', limit: 1, nowMs: T0 }));
        await store.complete([{ deliveryId: delivered.id, state: 'delivered', attempt: attempt(200, null, 'delivered') }], T0, 'runner-a');
        await store.lease(leaseRequest({ destinationId: 'gone', limit: 1, nowMs: T0 + 1 }));
        const states = async () =>
          Object.fromEntries((await store.listDeliveries({ destinationId: 'gone' })).map((d) => [d.eventId, d.state]));
        expect(await states()).toEqual({ e1: 'delivered', e2: 'paused', e3: 'pending', e4: 'in_flight' });
        return states;
      }

      it('drops waiting ones as skipped with rule destination_removed, visibly; in-flight ones once their lease expired', async () => {
        const store = await open();
        const states = await orphans(store);
        expect(await store.dropOrphans('gone', T0 + 10)).toBe(2);
        expect(await states()).toEqual({ e1: 'delivered', e2: 'skipped', e3: 'skipped', e4: 'in_flight' });
        expect(await deliveryOf(store, 'e3', 'gone')).toMatchObject({ lastError: DESTINATION_REMOVED, nextAttemptAtMs: null });
        expect(await store.dropOrphans('gone', T0 + LEASE_MS + 2)).toBe(1);
        expect(await states()).toEqual({ e1: 'delivered', e2: 'skipped', e3: 'skipped', e4: 'skipped' });
        expect(await store.lease(leaseRequest({ destinationId: 'gone', nowMs: T0 + 2 * LEASE_MS }))).toEqual([]);
        expect((await store.stats(T0)).events).toBe(4);
      });

      it('reassigns waiting ones to another destination, due at once; an event already sent there keeps its own', async () => {
        const store = await open();
        const states = await orphans(store);
        await store.ingest(testEvent('e5'), [pending('gone'), pending('ct')], T0 + 2);
        expect(await store.reassignOrphans('gone', 'ct', T0 + 10)).toEqual({ reassigned: 2, kept: 1 });
        expect(await states()).toEqual({ e1: 'delivered', e4: 'in_flight', e5: 'pending' });
        const moved = await store.listDeliveries({ destinationId: 'ct' });
        expect(Object.fromEntries(moved.map((d) => [d.eventId, d.state]))).toEqual({ e2: 'pending', e3: 'pending', e5: 'pending' });
        const leased = await store.lease(leaseRequest({ destinationId: 'ct', nowMs: T0 + 10 }));
        expect(leased.map((d) => d.eventId).sort()).toEqual(['e2', 'e3', 'e5']);
        expect(leased.find((d) => d.eventId === 'e2')).toMatchObject({ windowStartMs: T0 + 10 });
      });
    });

    describe('queries', () => {
      it('counts deliveries by destination and state and measures the oldest due backlog', async () => {
        const store = await open();
        expect(await store.stats(T0)).toEqual({ deliveries: [], oldestPendingAgeMs: [], events: 0 });
        await ingestMany(store, 3, 'e', [pending('ct'), { destinationId: 'amp', state: 'skipped', reason: 'r: r' }]);
        const [leased] = await store.lease(leaseRequest({ limit: 1, nowMs: T0 + 5 }));
        await store.complete(
          [{ deliveryId: leased.id, state: 'pending', nextAttemptAtMs: T0 + 60_000, attempt: attempt(503) }],
          T0 + 6,
          'runner-a',
        );

        const stats = await store.stats(T0 + 1_000);
        expect(stats.events).toBe(3);
        expect(stats.deliveries).toEqual([
          { destinationId: 'amp', state: 'skipped', count: 3 },
          { destinationId: 'ct', state: 'pending', count: 3 },
        ]);
        // e-1 was due at T0 + 1 and still waits; e-0 is not due until T0 + 60000.
        expect(stats.oldestPendingAgeMs).toEqual([
          { destinationId: 'amp', ageMs: 0 },
          { destinationId: 'ct', ageMs: 999 },
        ]);
      });

      /** Counts every delivery and event by listing them all, page by page: what `stats` must agree with. */
      async function fullCount(store: Store) {
        const counts = new Map<string, number>();
        for (let before: string | undefined; ;) {
          const page = await store.listDeliveries({ limit: 500, before });
          for (const row of page)
            counts.set(`${row.destinationId}/${row.state}`, (counts.get(`${row.destinationId}/${row.state}`) ?? 0) + 1);
          if (page.length < 500) break;
          before = page[page.length - 1].id;
        }
        let events = 0;
        for (let before: string | undefined; ;) {
          const page = await store.listEvents({ limit: 500, before });
          events += page.length;
          if (page.length < 500) break;
          before = page[page.length - 1].id;
        }
        return { deliveries: Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1))), events };
      }

      async function expectCountsExact(store: Store, step: string) {
        const stats = await store.stats(T0);
        const counted = {
          deliveries: Object.fromEntries(stats.deliveries.map((d) => [`${d.destinationId}/${d.state}`, d.count])),
          events: stats.events,
        };
        expect({ step, ...counted }).toEqual({ step, ...(await fullCount(store)) });
      }

      it('keeps its counts equal to a full count after every kind of change', async () => {
        const store = await open();
        await expectCountsExact(store, 'empty');
        await ingestMany(store, 6, 'e', [pending('ct'), { destinationId: 'amp', state: 'skipped', reason: 'r: r' }]);
        await store.ingest(testEvent('held'), [{ destinationId: 'ct', state: 'paused', reason: 'no passcode' }], T0);
        expect(await store.ingest(testEvent('e-0'), [pending('ct')], T0)).toBe('duplicate');
        await expectCountsExact(store, 'ingest');
        const leased = await store.lease(leaseRequest({ limit: 5, nowMs: T0 + 10 }));
        await expectCountsExact(store, 'lease');
        await store.complete(
          [
            { deliveryId: leased[0].id, state: 'delivered', attempt: attempt(200, null, 'delivered') },
            { deliveryId: leased[1].id, state: 'dead', attempt: attempt(400, 'HTTP 400', 'rejected') },
            { deliveryId: leased[2].id, state: 'pending', nextAttemptAtMs: T0 + 20, attempt: attempt(503) },
          ],
          T0 + 11,
          'runner-a',
        );
        await expectCountsExact(store, 'complete');
        // leased[3] and [4] are taken over once their lease expires, then released.
        await store.lease(leaseRequest({ limit: 2, nowMs: T0 + LEASE_MS + 100, owner: 'runner-b' }));
        await expectCountsExact(store, 'take over');
        await store.releaseLeases('runner-b');
        await expectCountsExact(store, 'release');
        await store.setPaused('ct', true, T0 + 12);
        await expectCountsExact(store, 'setPaused');
        await store.setPaused('ct', false, T0 + 13);
        await store.pauseDestination({ destinationId: 'ct', cause: 'operator', reason: 'maintenance', sinceMs: T0, setBy: 'test' });
        await expectCountsExact(store, 'pauseDestination');
        await store.resumeDestination('ct', T0 + 14);
        await expectCountsExact(store, 'resumeDestination');
        await store.replay({ eventIds: ['e-0', 'e-1', 'e-2'], states: ['dead', 'skipped'] }, T0 + 15);
        await expectCountsExact(store, 'replay');
        await store.reassignOrphans('amp', 'gone', T0 + 16);
        await expectCountsExact(store, 'reassignOrphans');
        await store.dropOrphans('gone', T0 + 17);
        await expectCountsExact(store, 'dropOrphans');
        await store.close();
        await expectCountsExact(await open(), 'restart');
      });

      it('keeps exact counts while two stores on one database ingest and deliver at once', async () => {
        const stores = [await open(), await open()];
        await Promise.all(
          stores.map(async (store, s) => {
            for (let round = 0; round < 3; round++) {
              // Overlapping ids: the same event arriving at both stores is stored once.
              await Promise.all(
                Array.from({ length: 40 }, (_, i) =>
                  store.ingest(testEvent(`c-${round}-${i + s * 20}`), [pending('ct'), pending('amp')], T0),
                ),
              );
              const leased = await store.lease(leaseRequest({ limit: 15, nowMs: T0 + 1, owner: `runner-${s}` }));
              await store.complete(
                leased.map((d) => ({ deliveryId: d.id, state: 'delivered' as const, attempt: attempt(200, null, 'delivered') })),
                T0 + 2,
                `runner-${s}`,
              );
            }
          }),
        );
        for (const store of stores) await expectCountsExact(store, 'both stores');
        expect((await stores[0].stats(T0)).events).toBe(180);
      });

      it('lists events newest first, filtered, a page at a time', async () => {
        const store = await open();
        for (let i = 0; i < 7; i++) {
          const user = i % 2 === 0 ? 'even' : 'odd';
          const deliveries: NewDelivery[] = i === 3 ? [{ destinationId: 'amp', state: 'skipped', reason: 'r: r' }] : [pending('ct')];
          await store.ingest(testEvent(`e${i}`, { userId: user, type: i < 5 ? 'RENEWAL' : 'EXPIRATION' }), deliveries, T0 + i * 10);
        }
        const ids = async (filter: Parameters<Store['listEvents']>[0]) => (await store.listEvents(filter)).map((e) => e.id);

        expect(await ids({})).toEqual(['e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
        expect(await ids({ userId: 'odd' })).toEqual(['e5', 'e3', 'e1']);
        expect(await ids({ type: 'EXPIRATION' })).toEqual(['e6', 'e5']);
        expect(await ids({ state: 'skipped' })).toEqual(['e3']);
        expect(await ids({ destinationId: 'amp', state: 'pending' })).toEqual([]);
        expect(await ids({ sinceMs: T0 + 20, untilMs: T0 + 50 })).toEqual(['e4', 'e3', 'e2']);
        expect((await store.listEvents({ limit: 1 }))[0]).toEqual({
          ...testEvent('e6', { userId: 'even', type: 'EXPIRATION' }),
          body: undefined,
          receivedAtMs: T0 + 60,
        });

        expect(await ids({ limit: 3 })).toEqual(['e6', 'e5', 'e4']);
        expect(await ids({ limit: 3, before: 'e4' })).toEqual(['e3', 'e2', 'e1']);
        expect(await ids({ limit: 3, before: 'e1' })).toEqual(['e0']);
        expect(await ids({ limit: 3, before: 'e0' })).toEqual([]);
        expect(await ids({ userId: 'even', limit: 2, before: 'e4' })).toEqual(['e2', 'e0']);
        const unknownCursor = await store.listEvents({ before: 'nope' }).catch((error: unknown) => error);
        expect(unknownCursor).toBeInstanceOf(StoreInputError);
        expect(unknownCursor).toMatchObject({ field: 'before', message: 'no event with id "nope"' });
      });

      it('pages through events received in the same millisecond without gaps or repeats', async () => {
        const store = await open();
        await Promise.all(Array.from({ length: 9 }, (_, i) => store.ingest(testEvent(`same-${i}`), [pending()], T0)));
        const seen: string[] = [];
        for (let before: string | undefined; ;) {
          const page = await store.listEvents({ limit: 4, before });
          if (page.length === 0) break;
          seen.push(...page.map((e) => e.id));
          before = page[page.length - 1].id;
        }
        expect(seen).toEqual(Array.from({ length: 9 }, (_, i) => `same-${8 - i}`));
      });

      it('lists deliveries newest first, filtered, a page at a time', async () => {
        const store = await open();
        for (let i = 0; i < 5; i++) {
          await store.ingest(
            testEvent(`e${i}`, { userId: i < 2 ? 'alice' : 'bob', type: i === 4 ? 'TRANSFER' : 'RENEWAL' }),
            [pending('ct'), pending('amp')],
            T0 + i,
          );
        }
        await store.setPaused('amp', true, T0 + 10);
        const list = async (filter: Parameters<Store['listDeliveries']>[0]) =>
          (await store.listDeliveries(filter)).map((d) => `${d.eventId}/${d.destinationId}`);

        expect(await list({ destinationId: 'ct' })).toEqual(['e4/ct', 'e3/ct', 'e2/ct', 'e1/ct', 'e0/ct']);
        expect(await list({ state: 'paused', userId: 'alice' })).toEqual(['e1/amp', 'e0/amp']);
        expect(await list({ type: 'TRANSFER' })).toHaveLength(2);
        expect(await list({ sinceMs: T0 + 1, untilMs: T0 + 3, destinationId: 'ct' })).toEqual(['e2/ct', 'e1/ct']);

        const firstPage = await store.listDeliveries({ limit: 4 });
        expect(firstPage).toHaveLength(4);
        expect(firstPage[0]).toMatchObject({ eventId: 'e4', state: expect.any(String), createdAtMs: T0 + 4 });
        const rest = await store.listDeliveries({ limit: 500, before: firstPage[3].id });
        expect(rest).toHaveLength(6);
        expect(new Set([...firstPage, ...rest].map((d) => d.id)).size).toBe(10);
        await expect(store.listDeliveries({ before: 'nope' })).rejects.toMatchObject({
          field: 'before',
          message: 'no delivery with id "nope"',
        });
      });

      it('returns 50 rows by default and at most 500', async () => {
        const store = await open();
        await ingestMany(store, 520);
        expect(await store.listEvents({})).toHaveLength(50);
        expect(await store.listEvents({ limit: 10_000 })).toHaveLength(500);
        expect(await store.listDeliveries({ limit: 10_000 })).toHaveLength(500);
        expect(await store.listDeliveries({ limit: 0 })).toHaveLength(1);
      });

      it('returns undefined for an unknown event', async () => {
        const store = await open();
        expect(await store.getEvent('nope')).toBeUndefined();
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });
  });
}
