/// <reference types="jest" />
import type { DeliveryUpdate, StateVerdict, Store } from '@ferry/core';
import { contractDatabase, type StoreFactory } from '../database';
import { LEASE_MS, T0, testEvent } from '../fixtures';

interface Sent {
  readonly id: string;
  readonly user: string | null;
  readonly timestampMs: number;
  /** The profile its state is written to; `profile:<user>` by default. */
  readonly profile?: string;
  /** Every user id the event names (aliases, original app user id, …); the user alone by default. */
  readonly userIds?: readonly string[];
}

/** The ordering guard's claims and marks per destination profile (`StateMarks`, SPEC §12). */
export function describeStateMarksContract(factory: StoreFactory): void {
  describe('subscription state: claims and marks per destination profile (the ordering guard)', () => {
    const deps = { ...contractDatabase(factory), event: testEvent };
    const delivered = (deliveryId: string, profile: string, accepted = true): DeliveryUpdate => ({
      deliveryId,
      state: 'delivered',
      attempt: { startedAtMs: T0, durationMs: 5, status: 200, outcome: 'delivered', error: null },
      stateClaim: { profile, accepted },
    });
    /** What the engine writes for a held delivery: pending again, no attempt. */
    const heldBack = (deliveryId: string): DeliveryUpdate => ({ deliveryId, state: 'pending', nextAttemptAtMs: T0 });

    /** A store, and the events it stored so far, each with its delivery to ct (and amp) and profile. */
    async function guarded(store?: Store) {
      const s = store ?? (await deps.open());
      const ids: Record<string, { ct: string; amp: string; profile: string }> = {};
      let received = 0;
      return {
        store: s,
        ids,
        /** Stores the events, received one after another (in this order), each to ct and amp. */
        async ingest(...events: readonly Sent[]) {
          for (const { id, user, timestampMs, profile, userIds } of events) {
            const ingested = deps.event(id, { userId: user, timestampMs, ...(userIds && { userIds }) });
            await s.queue.ingest(
              ingested,
              [
                { destinationId: 'ct', state: 'pending' },
                { destinationId: 'amp', state: 'pending' },
              ],
              T0 + received++,
            );
            const detail = (await s.log.getEvent(id))!;
            const of = (destinationId: string) => detail.deliveries.find((d) => d.destinationId === destinationId)!.id;
            ids[id] = { ct: of('ct'), amp: of('amp'), profile: profile ?? `profile:${user}` };
          }
        },
        /** Leases every due delivery of `destinationId` (as the engine does before it claims). */
        lease: (destinationId = 'ct', nowMs = T0 + 1_000, owner = 'runner-a', leaseMs = LEASE_MS) =>
          s.queue.lease({ destinationId, limit: 500, nowMs, leaseMs, owner }),
        /** The verdicts for these events' deliveries to `destinationId`, by event id. */
        async claim(
          eventIds: readonly string[],
          destinationId: 'ct' | 'amp' = 'ct',
          nowMs = T0 + 1_000,
        ): Promise<Record<string, StateVerdict>> {
          const candidates = eventIds.map((id) => ({ deliveryId: ids[id][destinationId], profile: ids[id].profile }));
          const verdicts = await s.coordination.claimSubscriptionState(destinationId, candidates, nowMs);
          return Object.fromEntries(
            eventIds.flatMap((id) => (verdicts.has(ids[id][destinationId]) ? [[id, verdicts.get(ids[id][destinationId])!]] : [])),
          );
        },
        /** Stores the outcome of a delivery sent with state, as the engine does. */
        settle: (eventId: string, accepted = true, owner = 'runner-a', destinationId: 'ct' | 'amp' = 'ct') =>
          s.queue.complete([delivered(ids[eventId][destinationId], ids[eventId].profile, accepted)], T0 + 2_000, owner),
        /** Puts held deliveries back, pending, as the engine does. */
        holdBack: (eventIds: readonly string[], destinationId: 'ct' | 'amp' = 'ct') =>
          s.queue.complete(
            eventIds.map((id) => heldBack(ids[id][destinationId])),
            T0 + 2_000,
            'runner-a',
          ),
      };
    }

    it('gives the newest candidate of a profile the state and holds the rest; only a state older than the accepted one goes plain', async () => {
      const g = await guarded();
      await g.ingest(
        { id: 'old', user: 'u1', timestampMs: T0 - 3_000 },
        { id: 'new', user: 'u1', timestampMs: T0 - 2_000 },
        { id: 'other', user: 'u2', timestampMs: T0 - 5_000 },
      );
      await g.lease();
      expect(await g.claim(['old', 'new', 'other'])).toEqual({ old: 'hold', new: 'state', other: 'state' });
      await g.settle('new');
      await g.settle('other');
      await g.holdBack(['old']);
      await g.lease();
      expect(await g.claim(['old'])).toEqual({ old: 'plain' });
      // The accepted event itself (a retry, a replay) may carry its state again; a newer one may too.
      await g.ingest({ id: 'newest', user: 'u1', timestampMs: T0 - 1_000 });
      await g.lease();
      expect(await g.claim(['newest', 'new'])).toEqual({ newest: 'state', new: 'hold' });
      await g.settle('newest');
      expect(await g.claim(['new'])).toEqual({ new: 'plain' });
    });

    it('holds every candidate, a newer one too, while another delivery’s claim is in flight; the claim lapses with its lease', async () => {
      const g = await guarded();
      await g.ingest({ id: 'slow', user: 'u1', timestampMs: T0 - 2_000 });
      await g.lease('ct', T0 + 1_000, 'runner-a', 5_000);
      expect(await g.claim(['slow'])).toEqual({ slow: 'state' });
      await g.ingest({ id: 'newer', user: 'u1', timestampMs: T0 - 1_000 });
      await g.lease('ct', T0 + 2_000, 'runner-b');
      expect(await g.claim(['newer'], 'ct', T0 + 2_000)).toEqual({ newer: 'hold' });
      expect(await g.claim(['newer'], 'ct', T0 + 6_000)).toEqual({ newer: 'hold' }); // the lease lasts to T0 + 6_000
      // Its holder stopped: past its lease, the claim is no longer in the way.
      expect(await g.claim(['newer'], 'ct', T0 + 6_001)).toEqual({ newer: 'state' });
    });

    it('lets the delivery holding a claim claim again when it is sent again (taken over after a crash)', async () => {
      const g = await guarded();
      await g.ingest({ id: 'e1', user: 'u1', timestampMs: T0 - 2_000 }, { id: 'e0', user: 'u1', timestampMs: T0 - 3_000 });
      await g.lease('ct', T0 + 1_000, 'runner-a', 1_000);
      expect(await g.claim(['e1'])).toEqual({ e1: 'state' });
      // runner-a stops; runner-b takes both over and claims again: e1 still the newest.
      expect(await g.lease('ct', T0 + 5_000, 'runner-b')).toHaveLength(2);
      expect(await g.claim(['e0', 'e1'], 'ct', T0 + 5_000)).toEqual({ e0: 'hold', e1: 'state' });
      // runner-a's late answer changes nothing (its lease is gone); runner-b's settles the claim.
      await g.settle('e1', true, 'runner-a');
      expect(await g.claim(['e0'], 'ct', T0 + 5_000)).toEqual({ e0: 'hold' });
      await g.settle('e1', true, 'runner-b');
      expect(await g.claim(['e0'], 'ct', T0 + 5_000)).toEqual({ e0: 'plain' });
    });

    it('answers, per profile, the state the destination accepted and whether a claim is in flight, as the claims judge it', async () => {
      const g = await guarded();
      await g.ingest({ id: 'first', user: 'u1', timestampMs: T0 - 3_000 }, { id: 'second', user: 'u1', timestampMs: T0 - 2_000 });
      const states = (nowMs = T0 + 1_000, destinationId = 'ct') =>
        g.store.coordination.acceptedStates(destinationId, ['profile:u1', 'profile:nobody', 'profile:u1'], nowMs);
      const none = { accepted: null, claimInFlight: false };
      expect(await states()).toEqual([
        { profile: 'profile:u1', ...none },
        { profile: 'profile:nobody', ...none },
      ]);
      await g.lease('ct', T0 + 1_000, 'runner-a', 5_000);
      expect(await g.claim(['first'])).toEqual({ first: 'state' });
      expect((await states())[0]).toEqual({ profile: 'profile:u1', accepted: null, claimInFlight: true });
      // Its lease over, the claim no longer counts, as for claimSubscriptionState.
      expect((await states(T0 + 6_001))[0]).toEqual({ profile: 'profile:u1', ...none });
      await g.settle('first');
      // The accepted state's place in the order, as the customer's history reads the event's.
      const history = await g.store.log.userHistory('u1', 10);
      const first = history.events.find((event) => event.id === 'first')!;
      expect((await states())[0]).toEqual({
        profile: 'profile:u1',
        accepted: { timestampMs: T0 - 3_000, receivedSeq: first.receivedSeq },
        claimInFlight: false,
      });
      // Another destination keeps its own.
      expect((await states(T0 + 1_000, 'amp'))[0]).toEqual({ profile: 'profile:u1', ...none });
      expect(await g.store.coordination.acceptedStates('ct', [], T0)).toEqual([]);
    });

    it('moves the accepted mark only when the destination took the state, and ends the claim either way', async () => {
      const g = await guarded();
      await g.ingest({ id: 'old', user: 'u1', timestampMs: T0 - 3_000 }, { id: 'newest', user: 'u1', timestampMs: T0 - 1_000 });
      await g.lease();
      expect(await g.claim(['old', 'newest'])).toEqual({ old: 'hold', newest: 'state' });
      // The newest ends dead: the destination never held its state.
      await g.store.queue.complete(
        [
          {
            deliveryId: g.ids.newest.ct,
            state: 'dead',
            attempt: { startedAtMs: T0, durationMs: 5, status: 400, outcome: 'rejected', error: 'HTTP 400' },
            stateClaim: { profile: g.ids.newest.profile, accepted: false },
          },
        ],
        T0 + 2_000,
        'runner-a',
      );
      expect(await g.claim(['old'])).toEqual({ old: 'state' });
      await g.settle('old');
      // The mark is the old event's: a state between the two still goes, an older one does not.
      await g.ingest({ id: 'between', user: 'u1', timestampMs: T0 - 2_000 }, { id: 'older', user: 'u1', timestampMs: T0 - 4_000 });
      await g.lease();
      expect(await g.claim(['older'])).toEqual({ older: 'plain' });
      expect(await g.claim(['between'])).toEqual({ between: 'state' });
      // Delivered, but the state was refused (a profile record the destination did not take): the mark stays.
      await g.settle('between', false);
      expect(await g.claim(['between'])).toEqual({ between: 'state' });
    });

    it('keeps one order per destination and profile: two app user ids sharing a profile share it, two profiles of one user do not', async () => {
      const g = await guarded();
      await g.ingest(
        { id: 'a-new', user: 'user-a', timestampMs: T0 - 1_000, profile: 'shared' },
        { id: 'b-old', user: 'user-b', timestampMs: T0 - 2_000, profile: 'shared' },
        { id: 'sandbox-new', user: 'user-c', timestampMs: T0 - 1_000, profile: 'sandbox:user-c' },
        { id: 'production-old', user: 'user-c', timestampMs: T0 - 2_000, profile: 'production:user-c' },
      );
      await g.lease();
      expect(await g.claim(['a-new'])).toEqual({ 'a-new': 'state' });
      await g.settle('a-new');
      expect(await g.claim(['b-old', 'sandbox-new'])).toEqual({ 'b-old': 'plain', 'sandbox-new': 'state' });
      await g.settle('sandbox-new');
      expect(await g.claim(['production-old'])).toEqual({ 'production-old': 'state' });
      // Another destination keeps its own marks.
      await g.lease('amp');
      expect(await g.claim(['b-old'], 'amp')).toEqual({ 'b-old': 'state' });
    });

    it('breaks a tie of event timestamps by the order received, not by id or received millisecond', async () => {
      const store = await deps.open();
      const g = await guarded(store);
      // Both received in the same millisecond and committed together; ids sort against the order they came in.
      const same = { userId: 'u1', timestampMs: T0 - 1_000 };
      await Promise.all([
        store.queue.ingest(deps.event('z-first', same), [{ destinationId: 'ct', state: 'pending' }], T0),
        store.queue.ingest(deps.event('a-second', same), [{ destinationId: 'ct', state: 'pending' }], T0),
      ]);
      const idOf = async (id: string) => (await store.log.getEvent(id))!.deliveries[0].id;
      for (const id of ['z-first', 'a-second']) g.ids[id] = { ct: await idOf(id), amp: '', profile: 'profile:u1' };
      await g.lease();
      expect(await g.claim(['z-first', 'a-second'])).toEqual({ 'z-first': 'hold', 'a-second': 'state' });
      await g.settle('a-second');
      expect(await g.claim(['z-first'])).toEqual({ 'z-first': 'plain' });

      const another = await guarded(await deps.open()); // a second runner on the same database
      Object.assign(another.ids, g.ids);
      await another.ingest({ id: 'later', user: 'u1', timestampMs: T0 - 1_000 });
      await another.lease();
      expect(await another.claim(['later'])).toEqual({ later: 'state' });
    });

    it('answers nothing for other destinations’ deliveries and unknown ids, and leaves no claim for them', async () => {
      const g = await guarded();
      await g.ingest({ id: 'mine', user: 'u1', timestampMs: T0 - 1_000 });
      await g.lease();
      expect(await g.store.coordination.claimSubscriptionState('ct', [], T0 + 1_000)).toEqual(new Map());
      const foreign = [
        { deliveryId: g.ids.mine.amp, profile: 'profile:u1' },
        { deliveryId: 'no-such-delivery', profile: 'profile:u1' },
      ];
      expect(await g.store.coordination.claimSubscriptionState('ct', foreign, T0 + 1_000)).toEqual(new Map());
      expect(await g.claim(['mine'])).toEqual({ mine: 'state' });
    });

    it('keeps its marks across a restart', async () => {
      const first = await guarded();
      await first.ingest({ id: 'old', user: 'u1', timestampMs: T0 - 2_000 }, { id: 'new', user: 'u1', timestampMs: T0 - 1_000 });
      await first.lease();
      expect(await first.claim(['new'])).toEqual({ new: 'state' });
      await first.settle('new');
      await first.store.close();
      const second = await guarded(await deps.open());
      Object.assign(second.ids, first.ids);
      expect(await second.claim(['old'])).toEqual({ old: 'plain' });
    });

    it('gives each profile one claim when two stores on one database claim at once', async () => {
      const [a, b] = [await guarded(), await guarded(await deps.open())];
      const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      await a.ingest(
        ...users.flatMap((user): Sent[] => [
          { id: `${user}-old`, user, timestampMs: T0 - 2_000 },
          { id: `${user}-new`, user, timestampMs: T0 - 1_000 },
        ]),
      );
      Object.assign(b.ids, a.ids);
      await a.lease();
      // Runner a sends the newer event of every user while runner b sends the older one, in batches of several users.
      const batches = (suffix: string) =>
        Array.from({ length: 8 }, (_, i) => users.slice(i * 5, i * 5 + 5).map((user) => `${user}-${suffix}`));
      const answers = await Promise.all([
        ...batches('new').map((batch) => a.claim(batch)),
        ...batches('old').map((batch) => b.claim([...batch].reverse())),
      ]);
      const verdicts: Record<string, StateVerdict> = Object.assign({}, ...answers);
      for (const user of users) {
        const pair = [verdicts[`${user}-old`], verdicts[`${user}-new`]].sort();
        expect({ user, pair }).toEqual({ user, pair: ['hold', 'state'] });
      }
    });

    it('erases the marks of every profile the customer reached: its own, its aliases’, an id whose original app user id it was', async () => {
      const g = await guarded();
      const sent: Sent[] = [
        { id: 'own', user: 'er-a', timestampMs: T0 - 1_000 },
        { id: 'alias', user: 'er-a-alias', timestampMs: T0 - 1_000, userIds: ['er-a-alias', 'er-a'] },
        { id: 'original', user: 'er-b', timestampMs: T0 - 1_000, userIds: ['er-b', 'er-a'] },
        // Names only er-b, another id of the customer, and reaches a profile of its own.
        { id: 'via-er-b', user: 'er-b', timestampMs: T0 - 1_000, profile: 'object:er-b' },
        { id: 'stranger', user: 'bob', timestampMs: T0 - 1_000 },
      ];
      await g.ingest(...sent);
      // One more of the customer's, long gone by retention when the erasure comes: its profile is still found.
      const gone = deps.event('gone', { userId: 'er-a', timestampMs: T0 - 1_000 });
      await g.store.queue.ingest(gone, [{ destinationId: 'ct', state: 'pending' }], T0 - 10 * 86_400_000);
      g.ids.gone = { ct: (await g.store.log.getEvent('gone'))!.deliveries[0].id, amp: '', profile: 'object:er-a' };
      await g.lease();
      const all = [...sent.map((event) => event.id), 'gone'];
      expect(Object.values(await g.claim(all)).every((verdict) => verdict === 'state')).toBe(true);
      for (const id of all) await g.settle(id);
      expect(await g.store.maintenance.prune({ finalBeforeMs: T0 - 5 * 86_400_000, deadBeforeMs: T0 - 5 * 86_400_000 })).toMatchObject({
        removed: 1,
      });

      // own, alias and original name er-a; via-er-b names only er-b, one of the customer's ids: it stays, its mark goes.
      expect(await g.store.maintenance.erase('er-a')).toBe(3);
      // An older event on each of those profiles carries state again: their marks are gone. The stranger's stays.
      const profiles = {
        own: 'profile:er-a',
        alias: 'profile:er-a-alias',
        original: 'profile:er-b',
        'via-er-b': 'object:er-b',
        gone: 'object:er-a',
        stranger: 'profile:bob',
      };
      await g.ingest(
        ...Object.entries(profiles).map(([id, profile], i) => ({
          id: `${id}-again`,
          user: `someone-${i}`,
          timestampMs: T0 - 5_000,
          profile,
        })),
      );
      await g.lease();
      expect(await g.claim(['own-again', 'alias-again', 'original-again', 'via-er-b-again', 'gone-again', 'stranger-again'])).toEqual({
        'own-again': 'state',
        'alias-again': 'state',
        'original-again': 'state',
        'via-er-b-again': 'state',
        'gone-again': 'state',
        'stranger-again': 'plain',
      });
    });
  });
}
