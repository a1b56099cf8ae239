/// <reference types="jest" />
import type { DestinationPause } from '@ferry/core';
import { contractDatabase, type StoreFactory } from '../database';
import { ingestMany, pending, T0 } from '../fixtures';

/** Destination pauses every runner shares (`StoredPauses`). */
export function describeStoredPausesContract(factory: StoreFactory): void {
  describe('stored destination pauses', () => {
    const { open, deliveryOf } = contractDatabase(factory);

    const pauseOf = (cause: 'operator' | 'credentials', sinceMs: number, overrides: Partial<DestinationPause> = {}): DestinationPause => ({
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
      expect(await store.coordination.destinationPauses()).toEqual([]);

      expect(await store.coordination.pauseDestination(pauseOf('operator', T0 + 10))).toEqual(pauseOf('operator', T0 + 10));
      expect((await store.log.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['paused', 'paused']);
      expect(await deliveryOf(store, 'e-0', 'amp')).toMatchObject({ state: 'pending' });

      const other = await open(); // another runner, or the same one after a restart
      expect(await other.coordination.destinationPauses()).toEqual([pauseOf('operator', T0 + 10)]);
      expect(await other.coordination.destinationPauses('ct')).toEqual([pauseOf('operator', T0 + 10)]);
      expect(await other.coordination.destinationPauses('amp')).toEqual([]);
    });

    it("lets an operator's pause replace a credentials pause, never the reverse, and keeps a repeated pause as it was", async () => {
      const store = await open();
      await store.coordination.pauseDestination(pauseOf('credentials', T0 + 10));
      expect(await store.coordination.pauseDestination(pauseOf('credentials', T0 + 20, { reason: 'again' }))).toEqual(
        pauseOf('credentials', T0 + 10),
      );
      expect(await store.coordination.pauseDestination(pauseOf('operator', T0 + 30, { setBy: 'runner-b' }))).toEqual(
        pauseOf('operator', T0 + 30, { setBy: 'runner-b' }),
      );
      expect(await store.coordination.pauseDestination(pauseOf('credentials', T0 + 40))).toEqual(
        pauseOf('operator', T0 + 30, { setBy: 'runner-b' }),
      );
      expect(await store.coordination.pauseDestination(pauseOf('operator', T0 + 50))).toEqual(
        pauseOf('operator', T0 + 30, { setBy: 'runner-b' }),
      );
      expect(await store.coordination.destinationPauses()).toEqual([pauseOf('operator', T0 + 30, { setBy: 'runner-b' })]);
    });

    it('resumes only the cause asked for, and makes the paused deliveries due once no pause is left', async () => {
      const store = await open();
      await ingestMany(store, 2);
      await store.coordination.pauseDestination(pauseOf('operator', T0 + 10));

      // A probe that got through cannot end an operator's pause.
      expect(await store.coordination.resumeDestination('ct', T0 + 20, 'credentials')).toEqual(pauseOf('operator', T0 + 10));
      expect((await store.log.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['paused', 'paused']);

      expect(await store.coordination.resumeDestination('ct', T0 + 30)).toBeUndefined();
      expect(await store.coordination.destinationPauses()).toEqual([]);
      expect((await store.log.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['pending', 'pending']);
      expect(await store.queue.nextDueAtMs('ct')).toBe(T0 + 30);
      expect(await store.coordination.resumeDestination('ct', T0 + 40)).toBeUndefined();

      await store.coordination.pauseDestination(pauseOf('credentials', T0 + 50));
      expect(await store.coordination.resumeDestination('ct', T0 + 60, 'credentials')).toBeUndefined();
      expect((await store.log.listDeliveries({ destinationId: 'ct' })).map((d) => d.state)).toEqual(['pending', 'pending']);
    });

    it('keeps one pause when two stores pause the same destination at once', async () => {
      const [a, b] = [await open(), await open()];
      const [first, second] = await Promise.all([
        a.coordination.pauseDestination(pauseOf('credentials', T0 + 10, { setBy: 'runner-a' })),
        b.coordination.pauseDestination(pauseOf('credentials', T0 + 10, { setBy: 'runner-b' })),
      ]);
      expect(first).toEqual(second);
      expect(await a.coordination.destinationPauses()).toEqual([first]);
    });
  });
}
