/// <reference types="jest" />
import { StoreInputError, type ListFilter, type NewDelivery, type Store } from '@ferry/core';
import { attempt, ingestMany, LEASE_MS, leaseRequest, pending, T0, testEvent } from './fixtures';
import { contractDatabase, type StoreFactory } from './database';

/** The event log (`EventLog`): listings, one event in full, and the counts. */
export function describeEventLogContract(factory: StoreFactory): void {
  describe('the event log', () => {
    const { open } = contractDatabase(factory);

    it('counts deliveries by destination and state and measures the oldest due backlog', async () => {
      const store = await open();
      expect(await store.log.stats(T0)).toEqual({ deliveries: [], oldestPendingAgeMs: [], events: 0 });
      await ingestMany(store, 3, 'e', [pending('ct'), { destinationId: 'amp', state: 'skipped', reason: 'r: r' }]);
      const [leased] = await store.queue.lease(leaseRequest({ limit: 1, nowMs: T0 + 5 }));
      await store.queue.complete(
        [{ deliveryId: leased.id, state: 'pending', nextAttemptAtMs: T0 + 60_000, attempt: attempt(503) }],
        T0 + 6,
        'runner-a',
      );

      const stats = await store.log.stats(T0 + 1_000);
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
        const page = await store.log.listDeliveries({ limit: 500, before });
        for (const row of page) counts.set(`${row.destinationId}/${row.state}`, (counts.get(`${row.destinationId}/${row.state}`) ?? 0) + 1);
        if (page.length < 500) break;
        before = page[page.length - 1].id;
      }
      let events = 0;
      for (let before: string | undefined; ;) {
        const page = await store.log.listEvents({ limit: 500, before });
        events += page.length;
        if (page.length < 500) break;
        before = page[page.length - 1].id;
      }
      return { deliveries: Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1))), events };
    }

    async function expectCountsExact(store: Store, step: string) {
      const stats = await store.log.stats(T0);
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
      await store.queue.ingest(testEvent('held'), [{ destinationId: 'ct', state: 'paused', reason: 'no passcode' }], T0);
      expect(await store.queue.ingest(testEvent('e-0'), [pending('ct')], T0)).toBe('duplicate');
      await expectCountsExact(store, 'ingest');
      const leased = await store.queue.lease(leaseRequest({ limit: 5, nowMs: T0 + 10 }));
      await expectCountsExact(store, 'lease');
      await store.queue.complete(
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
      await store.queue.lease(leaseRequest({ limit: 2, nowMs: T0 + LEASE_MS + 100, owner: 'runner-b' }));
      await expectCountsExact(store, 'take over');
      await store.queue.releaseLeases('runner-b');
      await expectCountsExact(store, 'release');
      await store.queue.setPaused('ct', true, T0 + 12);
      await expectCountsExact(store, 'setPaused');
      await store.queue.setPaused('ct', false, T0 + 13);
      await store.coordination.pauseDestination({
        destinationId: 'ct',
        cause: 'operator',
        reason: 'maintenance',
        sinceMs: T0,
        setBy: 'test',
      });
      await expectCountsExact(store, 'pauseDestination');
      await store.coordination.resumeDestination('ct', T0 + 14);
      await expectCountsExact(store, 'resumeDestination');
      await store.maintenance.replay({ eventIds: ['e-0', 'e-1', 'e-2'], states: ['dead', 'skipped'] }, T0 + 15);
      await expectCountsExact(store, 'replay');
      await store.maintenance.reassignOrphans('amp', 'gone', T0 + 16);
      await expectCountsExact(store, 'reassignOrphans');
      await store.maintenance.dropOrphans('gone', T0 + 17);
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
                store.queue.ingest(testEvent(`c-${round}-${i + s * 20}`), [pending('ct'), pending('amp')], T0),
              ),
            );
            const leased = await store.queue.lease(leaseRequest({ limit: 15, nowMs: T0 + 1, owner: `runner-${s}` }));
            await store.queue.complete(
              leased.map((d) => ({ deliveryId: d.id, state: 'delivered' as const, attempt: attempt(200, null, 'delivered') })),
              T0 + 2,
              `runner-${s}`,
            );
          }
        }),
      );
      for (const store of stores) await expectCountsExact(store, 'both stores');
      expect((await stores[0].log.stats(T0)).events).toBe(180);
    });

    it('lists events newest first, filtered, a page at a time', async () => {
      const store = await open();
      for (let i = 0; i < 7; i++) {
        const user = i % 2 === 0 ? 'even' : 'odd';
        const deliveries: NewDelivery[] = i === 3 ? [{ destinationId: 'amp', state: 'skipped', reason: 'r: r' }] : [pending('ct')];
        await store.queue.ingest(testEvent(`e${i}`, { userId: user, type: i < 5 ? 'RENEWAL' : 'EXPIRATION' }), deliveries, T0 + i * 10);
      }
      const ids = async (filter: ListFilter) => (await store.log.listEvents(filter)).map((e) => e.id);

      expect(await ids({})).toEqual(['e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
      expect(await ids({ userId: 'odd' })).toEqual(['e5', 'e3', 'e1']);
      expect(await ids({ type: 'EXPIRATION' })).toEqual(['e6', 'e5']);
      expect(await ids({ state: 'skipped' })).toEqual(['e3']);
      expect(await ids({ destinationId: 'amp', state: 'pending' })).toEqual([]);
      expect(await ids({ sinceMs: T0 + 20, untilMs: T0 + 50 })).toEqual(['e4', 'e3', 'e2']);
      expect((await store.log.listEvents({ limit: 1 }))[0]).toEqual({
        ...testEvent('e6', { userId: 'even', type: 'EXPIRATION' }),
        body: undefined,
        receivedAtMs: T0 + 60,
      });

      expect(await ids({ limit: 3 })).toEqual(['e6', 'e5', 'e4']);
      expect(await ids({ limit: 3, before: 'e4' })).toEqual(['e3', 'e2', 'e1']);
      expect(await ids({ limit: 3, before: 'e1' })).toEqual(['e0']);
      expect(await ids({ limit: 3, before: 'e0' })).toEqual([]);
      expect(await ids({ userId: 'even', limit: 2, before: 'e4' })).toEqual(['e2', 'e0']);
      const unknownCursor = await store.log.listEvents({ before: 'nope' }).catch((error: unknown) => error);
      expect(unknownCursor).toBeInstanceOf(StoreInputError);
      expect(unknownCursor).toMatchObject({ field: 'before', message: 'no event with id "nope"' });
    });

    it('pages through events received in the same millisecond without gaps or repeats', async () => {
      const store = await open();
      await Promise.all(Array.from({ length: 9 }, (_, i) => store.queue.ingest(testEvent(`same-${i}`), [pending()], T0)));
      const seen: string[] = [];
      for (let before: string | undefined; ;) {
        const page = await store.log.listEvents({ limit: 4, before });
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.id));
        before = page[page.length - 1].id;
      }
      expect(seen).toEqual(Array.from({ length: 9 }, (_, i) => `same-${8 - i}`));
    });

    it('lists deliveries newest first, filtered, a page at a time', async () => {
      const store = await open();
      for (let i = 0; i < 5; i++) {
        await store.queue.ingest(
          testEvent(`e${i}`, { userId: i < 2 ? 'alice' : 'bob', type: i === 4 ? 'TRANSFER' : 'RENEWAL' }),
          [pending('ct'), pending('amp')],
          T0 + i,
        );
      }
      await store.queue.setPaused('amp', true, T0 + 10);
      const list = async (filter: ListFilter) => (await store.log.listDeliveries(filter)).map((d) => `${d.eventId}/${d.destinationId}`);

      expect(await list({ destinationId: 'ct' })).toEqual(['e4/ct', 'e3/ct', 'e2/ct', 'e1/ct', 'e0/ct']);
      expect(await list({ state: 'paused', userId: 'alice' })).toEqual(['e1/amp', 'e0/amp']);
      expect(await list({ type: 'TRANSFER' })).toHaveLength(2);
      expect(await list({ sinceMs: T0 + 1, untilMs: T0 + 3, destinationId: 'ct' })).toEqual(['e2/ct', 'e1/ct']);

      const firstPage = await store.log.listDeliveries({ limit: 4 });
      expect(firstPage).toHaveLength(4);
      expect(firstPage[0]).toMatchObject({ eventId: 'e4', state: expect.any(String), createdAtMs: T0 + 4 });
      const rest = await store.log.listDeliveries({ limit: 500, before: firstPage[3].id });
      expect(rest).toHaveLength(6);
      expect(new Set([...firstPage, ...rest].map((d) => d.id)).size).toBe(10);
      await expect(store.log.listDeliveries({ before: 'nope' })).rejects.toMatchObject({
        field: 'before',
        message: 'no delivery with id "nope"',
      });
    });

    it('filters listings by the source that received the event, and counts events per source', async () => {
      const store = await open();
      expect(await store.log.countBySource()).toEqual([]);
      for (let i = 0; i < 6; i++) {
        const source = i % 3 === 0 ? 'android' : 'ios';
        await store.queue.ingest(testEvent(`e${i}`, { source, userId: i < 3 ? 'ana' : 'bo' }), [pending('ct'), pending('amp')], T0 + i);
      }
      // The same id through another source is a duplicate: stored once, under the first source.
      expect(await store.queue.ingest(testEvent('e0', { source: 'ios' }), [pending('ct')], T0 + 10)).toBe('duplicate');
      const events = async (filter: ListFilter) => (await store.log.listEvents(filter)).map((e) => `${e.id}/${e.source}`);
      const deliveries = async (filter: ListFilter) =>
        (await store.log.listDeliveries(filter)).map((d) => `${d.eventId}/${d.destinationId}`);

      expect(await events({ source: 'android' })).toEqual(['e3/android', 'e0/android']);
      expect(await events({ source: 'ios', userId: 'ana' })).toEqual(['e2/ios', 'e1/ios']);
      expect(await events({ source: 'ios', limit: 2, before: 'e4' })).toEqual(['e2/ios', 'e1/ios']);
      expect(await events({ source: 'unknown' })).toEqual([]);
      expect(await deliveries({ source: 'android', destinationId: 'ct' })).toEqual(['e3/ct', 'e0/ct']);
      expect(await deliveries({ source: 'android' })).toHaveLength(4);
      expect(await deliveries({ source: 'ios', userId: 'bo', destinationId: 'amp' })).toEqual(['e5/amp', 'e4/amp']);
      expect(await deliveries({ source: 'unknown' })).toEqual([]);

      expect(await store.log.countBySource()).toEqual([
        { source: 'android', count: 2 },
        { source: 'ios', count: 4 },
      ]);
      // Erasure removes events, and their counts with them.
      await store.maintenance.erase('ana');
      expect(await store.log.countBySource()).toEqual([
        { source: 'android', count: 1 },
        { source: 'ios', count: 2 },
      ]);
    });

    it('keeps each event’s product, and lists by user id prefix, product and kind, the deliveries listing agreeing', async () => {
      const store = await open();
      // Ids a LIKE pattern, a case-folding or a locale's collation would confuse: only the code points count.
      const users = [
        'al%ce',
        'al_ce',
        'alice',
        'Alice',
        'al',
        'alz',
        'al\u00e9x',
        'al\u00e9',
        '\u00e9mile',
        '\u{1f600}x',
        '\u{1f600}',
        'a-l',
        'ål',
        null,
      ];
      for (const [i, userId] of users.entries()) {
        await store.queue.ingest(
          testEvent(`e${i}`, {
            userId,
            productId: i % 3 === 0 ? null : i % 3 === 1 ? 'pro.monthly' : 'pro.yearly',
            kind: i % 2 === 0 ? 'renewal' : 'cancellation',
          }),
          [pending('ct'), pending('amp')],
          T0 + i,
        );
      }
      expect((await store.log.getEvent('e1'))!.productId).toBe('pro.monthly');
      expect((await store.log.listEvents({ limit: 1 }))[0]).toMatchObject({ id: 'e13', userId: null, productId: 'pro.monthly' });

      const usersOf = async (filter: ListFilter) => {
        const events = (await store.log.listEvents({ ...filter, limit: 500 })).map((e) => e.id);
        // The deliveries listing filters through its events: it finds the same ones, each with its deliveries (to ct and amp).
        const deliveries = (await store.log.listDeliveries({ ...filter, limit: 500 })).map((d) => d.eventId);
        expect([...new Set(deliveries)].sort()).toEqual([...events].sort());
        expect(deliveries).toHaveLength(events.length * (filter.destinationId === undefined ? 2 : 1));
        return events.map((id) => users[Number(id.slice(1))]).sort();
      };
      expect(await usersOf({ userPrefix: 'al%' })).toEqual(['al%ce']);
      expect(await usersOf({ userPrefix: 'al_' })).toEqual(['al_ce']);
      expect(await usersOf({ userPrefix: 'al' })).toEqual(['al', 'al%ce', 'al_ce', 'alice', 'alz', 'al\u00e9', 'al\u00e9x'].sort());
      expect(await usersOf({ userPrefix: 'ali' })).toEqual(['alice']);
      expect(await usersOf({ userPrefix: 'A' })).toEqual(['Alice']);
      expect(await usersOf({ userPrefix: 'al\u00e9' })).toEqual(['al\u00e9', 'al\u00e9x']);
      expect(await usersOf({ userPrefix: '\u00e9' })).toEqual(['\u00e9mile']);
      expect(await usersOf({ userPrefix: '\u{1f600}' })).toEqual(['\u{1f600}', '\u{1f600}x']);
      expect(await usersOf({ userPrefix: 'alz' })).toEqual(['alz']);
      expect(await usersOf({ userPrefix: 'b' })).toEqual([]);
      expect(await usersOf({ productId: 'pro.monthly', userPrefix: 'al' })).toEqual(['al_ce', 'al', 'al\u00e9'].sort());
      expect(await usersOf({ kind: 'cancellation', userPrefix: 'al' })).toEqual(['al_ce', 'alz', 'al\u00e9'].sort());
      expect(await usersOf({ productId: 'pro.yearly', kind: 'renewal' })).toEqual(['alice', '\u00e9mile'].sort());
      expect(await usersOf({ productId: 'pro' })).toEqual([]);
      expect(await usersOf({ userPrefix: 'al', destinationId: 'ct', state: 'pending', kind: 'renewal' })).toEqual(
        ['al%ce', 'alice', 'al', 'al\u00e9x'].sort(),
      );
      // Paging within a prefix.
      const first = await store.log.listEvents({ userPrefix: 'al', limit: 3 });
      const rest = await store.log.listEvents({ userPrefix: 'al', limit: 500, before: first[2].id });
      expect([...first, ...rest].map((e) => e.id)).toEqual((await store.log.listEvents({ userPrefix: 'al' })).map((e) => e.id));
    });

    it('reads the deliveries of many events at once, by event then destination', async () => {
      const store = await open();
      await ingestMany(store, 3, 'e', [pending('ct'), { destinationId: 'amp', state: 'skipped', reason: 'r: r' }]);
      const rows = await store.log.deliveriesOf(['e-2', 'e-0', 'e-0', 'unknown']);
      expect(rows.map((d) => `${d.eventId}/${d.destinationId}/${d.state}`)).toEqual([
        'e-0/amp/skipped',
        'e-0/ct/pending',
        'e-2/amp/skipped',
        'e-2/ct/pending',
      ]);
      expect(rows[0]).toEqual((await store.log.getEvent('e-0'))!.deliveries.map(({ attemptLog: _log, ...d }) => d)[0]);
      expect(await store.log.deliveriesOf([])).toEqual([]);
    });

    it("reads a customer's history: every event naming the id, the newest by event time, oldest first", async () => {
      const store = await open();
      const stored = [
        testEvent('late', { userId: 'ana', timestampMs: T0 - 1_000 }),
        testEvent('early', { userId: 'ana', timestampMs: T0 - 5_000 }),
        // Names ana as an alias, with another app user id.
        testEvent('aliased', { userId: 'anonymous-1', userIds: ['anonymous-1', 'ana'], timestampMs: T0 - 3_000 }),
        // Same time as `late`, received after it: after it.
        testEvent('tie', { userId: 'ana-2', userIds: ['ana-2', 'ana'], timestampMs: T0 - 1_000 }),
        testEvent('other', { userId: 'bob', timestampMs: T0 - 2_000 }),
      ];
      for (const [i, event] of stored.entries()) await store.queue.ingest(event, [pending('ct')], T0 + i);
      const history = await store.log.userHistory('ana', 500);
      expect(history.truncated).toBe(false);
      expect(history.events.map((e) => e.id)).toEqual(['early', 'aliased', 'late', 'tie']);
      expect(history.events[0]).toMatchObject({ userId: 'ana', productId: 'com.example.pro.monthly', body: stored[1].body });
      const seqs = history.events.map((e) => e.receivedSeq);
      expect(seqs[2]).toBeLessThan(seqs[3]);
      expect(seqs[0]).toBeGreaterThan(seqs[2]);

      expect(await store.log.userHistory('ana', 2)).toMatchObject({ truncated: true, events: [{ id: 'late' }, { id: 'tie' }] });
      expect(await store.log.userHistory('ana', 4)).toMatchObject({ truncated: false });
      expect(await store.log.userHistory('nobody', 500)).toEqual({ events: [], truncated: false });
    });

    it('returns 50 rows by default and at most 500', async () => {
      const store = await open();
      await ingestMany(store, 520);
      expect(await store.log.listEvents({})).toHaveLength(50);
      expect(await store.log.listEvents({ limit: 10_000 })).toHaveLength(500);
      expect(await store.log.listDeliveries({ limit: 10_000 })).toHaveLength(500);
      expect(await store.log.listDeliveries({ limit: 0 })).toHaveLength(1);
    });

    it('returns undefined for an unknown event', async () => {
      const store = await open();
      expect(await store.log.getEvent('nope')).toBeUndefined();
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
