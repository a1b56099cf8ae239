/// <reference types="jest" />
import {
  allows,
  DELIVERY_STATES,
  stateAfter,
  statesFrom,
  type DeliveryState,
  type DeliveryTransition,
  type DeliveryUpdate,
  type Store,
} from '@ferry/core';
import { attempt, LEASE_MS, leaseRequest, pending, T0, testEvent } from './fixtures';
import { contractDatabase, type StoreFactory } from './database';

/** Every operation that changes a delivery's state changes only the states core's transition table allows. */
export function describeTransitionsContract(factory: StoreFactory): void {
  describe('transitions', () => {
    const { open } = contractDatabase(factory);

    const OWNER = 'runner-a';
    /** Events `<destination>-<state>`, each with one delivery to `destinationId` in that state. */
    async function oneInEveryState(store: Store, destinationId: string): Promise<Map<string, DeliveryState>> {
      const eventOf = (state: DeliveryState) => testEvent(`${destinationId}-${state}`);
      for (const state of ['in_flight', 'delivered', 'dead'] as const)
        await store.queue.ingest(eventOf(state), [pending(destinationId)], T0);
      const leased = await store.queue.lease(leaseRequest({ destinationId, nowMs: T0, owner: OWNER }));
      const idOf = (state: DeliveryState) => leased.find((d) => d.eventId === eventOf(state).id)!.id;
      await store.queue.complete(
        [
          { deliveryId: idOf('delivered'), state: 'delivered', attempt: attempt(200, null, 'delivered') },
          { deliveryId: idOf('dead'), state: 'dead', attempt: attempt(400, 'HTTP 400', 'rejected') },
        ],
        T0,
        OWNER,
      );
      // Due later than the leased ones, so the lease above could not take the pending one.
      await store.queue.ingest(eventOf('pending'), [pending(destinationId)], T0 + 10);
      await store.queue.ingest(eventOf('skipped'), [{ destinationId, state: 'skipped', reason: 'rule: reason' }], T0 + 10);
      await store.queue.ingest(eventOf('paused'), [{ destinationId, state: 'paused', reason: 'settings.apiKey' }], T0 + 10);
      const states = new Map<string, DeliveryState>();
      for (const d of await store.log.listDeliveries({ destinationId })) states.set(d.eventId, d.state);
      expect([...states.values()].sort()).toEqual([...DELIVERY_STATES].sort());
      return states;
    }

    type Apply = (store: Store, destinationId: string) => Promise<readonly { eventId: string }[] | void>;
    const completeAll =
      (state: DeliveryUpdate['state']): Apply =>
      async (store, destinationId) => {
        const deliveries = await store.log.listDeliveries({ destinationId });
        await store.queue.complete(
          deliveries.map((d) => ({ deliveryId: d.id, state, attempt: attempt(200, null, 'delivered') })),
          T0 + 100,
          OWNER,
        );
      };
    const operations: { name: string; transitions: DeliveryTransition[]; apply: Apply }[] = [
      {
        name: 'lease',
        transitions: ['lease'],
        apply: (store, destinationId) => store.queue.lease(leaseRequest({ destinationId, nowMs: T0 + 100 })),
      },
      {
        name: 'lease after the leases expired',
        transitions: ['takeOver', 'lease'],
        apply: (store, destinationId) => store.queue.lease(leaseRequest({ destinationId, nowMs: T0 + LEASE_MS + 1, owner: 'runner-b' })),
      },
      {
        name: 'lease from paused (probe)',
        transitions: ['probe'],
        apply: (store, destinationId) => store.queue.lease(leaseRequest({ destinationId, from: 'paused', nowMs: T0 + 100 })),
      },
      { name: 'complete as delivered', transitions: ['deliver'], apply: completeAll('delivered') },
      { name: 'complete as pending (retry)', transitions: ['retry'], apply: completeAll('pending') },
      { name: 'complete as dead', transitions: ['kill'], apply: completeAll('dead') },
      { name: 'complete as paused', transitions: ['authPause'], apply: completeAll('paused') },
      { name: 'complete as skipped', transitions: ['skip'], apply: completeAll('skipped') },
      { name: 'releaseLeases', transitions: ['release'], apply: async (store) => void (await store.queue.releaseLeases()) },
      {
        name: 'setPaused(true)',
        transitions: ['pause'],
        apply: async (store, id) => void (await store.queue.setPaused(id, true, T0 + 100)),
      },
      {
        name: 'setPaused(false)',
        transitions: ['resume'],
        apply: async (store, id) => void (await store.queue.setPaused(id, false, T0 + 100)),
      },
      {
        name: 'dropOrphans once the leases expired',
        transitions: ['dropOrphan'],
        apply: async (store, id) => void (await store.maintenance.dropOrphans(id, T0 + LEASE_MS + 1)),
      },
      {
        name: 'pauseDestination',
        transitions: ['pause'],
        apply: async (store, destinationId) =>
          void (await store.coordination.pauseDestination({
            destinationId,
            cause: 'operator',
            reason: 'test',
            sinceMs: T0 + 100,
            setBy: OWNER,
          })),
      },
      {
        name: 'resumeDestination',
        transitions: ['resume'],
        apply: async (store, id) => void (await store.coordination.resumeDestination(id, T0 + 100)),
      },
      {
        name: 'replay of every state',
        transitions: ['replay'],
        apply: async (store, destinationId) => {
          const ids = (await store.log.listDeliveries({ destinationId })).map((d) => d.id);
          // Asked for every state, the store still replays only those the table allows.
          await store.maintenance.replay({ deliveryIds: ids, states: DELIVERY_STATES as never }, T0 + 100);
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
      const after = new Map((await store.log.listDeliveries({ destinationId: 'walk' })).map((d) => [d.eventId, d.state]));
      for (const [eventId, state] of before) expect(`${state} → ${after.get(eventId)}`).toBe(`${state} → ${expected(state)}`);
      if (leased) {
        const taken = transitions.flatMap((transition) => statesFrom(transition)).map((state) => `walk-${state}`);
        expect(leased.map((d) => d.eventId).sort()).toEqual(taken.sort());
      }
    });
  });
}
