/// <reference types="jest" />
import { ACTIVITY_MINUTE_MS, type ActivityCount, type ActivityRow } from '@ferry/core';
import { contractDatabase, type StoreFactory } from './database';
import { attempt, leaseRequest, pending, T0, testEvent } from './fixtures';

/** Minute `n` after the one T0 falls in. */
const minute = (n: number) => Math.floor(T0 / ACTIVITY_MINUTE_MS) * ACTIVITY_MINUTE_MS + n * ACTIVITY_MINUTE_MS;
const HOUR_MS = 60 * ACTIVITY_MINUTE_MS;

/** Activity (`ActivityLog`, SPEC §17): per-minute counts every store on the database adds to, the backlog sampled, pruned. */
export function describeActivityContract(factory: StoreFactory): void {
  describe('activity', () => {
    const { open } = contractDatabase(factory);

    it('adds each count to its minute, within one call and across calls, and reads a range of minutes in order', async () => {
      const store = await open();
      await store.activity.add([
        { series: 'received', minuteMs: minute(1), value: 3 },
        { series: 'delivered', minuteMs: minute(0), value: 2 },
        { series: 'received', minuteMs: minute(1), value: 4 },
        { series: 'failed', minuteMs: minute(1), value: 0 },
      ]);
      await store.activity.add([
        { series: 'received', minuteMs: minute(1), value: 10 },
        { series: 'failed', minuteMs: minute(2), value: 1 },
      ]);
      await store.activity.add([]);

      expect(await store.activity.read(minute(0), minute(3))).toEqual([
        { series: 'delivered', minuteMs: minute(0), value: 2 },
        { series: 'received', minuteMs: minute(1), value: 17 },
        { series: 'failed', minuteMs: minute(2), value: 1 },
      ] satisfies ActivityRow[]);
      // From included, to excluded; a count of 0 made no row.
      expect(await store.activity.read(minute(1), minute(2))).toEqual([{ series: 'received', minuteMs: minute(1), value: 17 }]);
      expect(await store.activity.read(minute(3), minute(10))).toEqual([]);
    });

    it('loses nothing when several stores on one database add to the same minutes at once: each row ends at the exact sum', async () => {
      const stores = [await open(), await open()];
      const adds = 12;
      // Each add names the minutes in another order, so on Postgres two of them could lock rows crosswise.
      const batch = (i: number): ActivityCount[] =>
        (i % 2 === 0 ? [0, 1] : [1, 0]).flatMap((n) => [
          { series: 'received', minuteMs: minute(n), value: i + 1 },
          { series: 'delivered', minuteMs: minute(n), value: 1 },
        ]);
      await Promise.all(stores.flatMap((store, s) => Array.from({ length: adds }, (_, i) => store.activity.add(batch(s * adds + i)))));
      const received = Array.from({ length: 2 * adds }, (_, i) => i + 1).reduce((sum, value) => sum + value, 0);
      expect(await stores[0].activity.read(minute(0), minute(2))).toEqual([
        { series: 'delivered', minuteMs: minute(0), value: 2 * adds },
        { series: 'received', minuteMs: minute(0), value: received },
        { series: 'delivered', minuteMs: minute(1), value: 2 * adds },
        { series: 'received', minuteMs: minute(1), value: received },
      ]);
    });

    it('keeps what was added across a restart', async () => {
      const first = await open();
      await first.activity.add([{ series: 'received', minuteMs: minute(0), value: 5 }]);
      await first.close();
      const second = await open();
      await second.activity.add([{ series: 'received', minuteMs: minute(0), value: 1 }]);
      expect(await second.activity.read(minute(0), minute(1))).toEqual([{ series: 'received', minuteMs: minute(0), value: 6 }]);
    });

    it('samples the backlog from the deliveries not yet final, keeping the highest sample of each minute', async () => {
      const store = await open();
      expect(await store.activity.sampleBacklog(minute(0))).toBe(0);
      await store.queue.ingest(
        testEvent('e1'),
        [
          pending('ct'),
          { destinationId: 'amp', state: 'paused', reason: 'maintenance' },
          { destinationId: 'bz', state: 'skipped', reason: 'r: r' },
        ],
        T0,
      );
      await store.queue.ingest(testEvent('e2'), [pending('ct')], T0);
      const [leased] = await store.queue.lease(leaseRequest({ limit: 1 }));
      // Pending, in flight and paused count; skipped does not.
      expect(await store.activity.sampleBacklog(minute(0))).toBe(3);
      await store.queue.complete([{ deliveryId: leased.id, state: 'delivered', attempt: attempt(200, null, 'delivered') }], T0, 'runner-a');

      expect(await store.activity.sampleBacklog(minute(0))).toBe(2);
      expect(await store.activity.sampleBacklog(minute(1))).toBe(2);
      expect(await store.activity.read(minute(0), minute(2))).toEqual([
        { series: 'backlog', minuteMs: minute(0), value: 3 },
        { series: 'backlog', minuteMs: minute(1), value: 2 },
      ]);
    });

    it('prunes the minutes before a time, keeping the rest', async () => {
      const store = await open();
      await store.activity.add([
        { series: 'received', minuteMs: minute(0), value: 1 },
        { series: 'failed', minuteMs: minute(0), value: 1 },
        { series: 'received', minuteMs: minute(60), value: 1 },
      ]);
      await store.activity.sampleBacklog(minute(59));

      expect(await store.activity.prune(minute(59))).toBe(2);
      expect(await store.activity.read(minute(0), minute(0) + 2 * HOUR_MS)).toEqual([
        { series: 'backlog', minuteMs: minute(59), value: 0 },
        { series: 'received', minuteMs: minute(60), value: 1 },
      ]);
      expect(await store.activity.prune(minute(59))).toBe(0);
    });
  });
}
