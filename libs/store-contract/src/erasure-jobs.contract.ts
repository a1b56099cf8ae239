/// <reference types="jest" />
import { StoreInputError, type ErasureJobTake, type NewErasureJob, type Store } from '@ferry/core';
import { contractDatabase, type StoreFactory } from './database';
import { LEASE_MS, pending, T0, testEvent } from './fixtures';

export function erasureJob(id: string, overrides: Partial<NewErasureJob> = {}): NewErasureJob {
  return {
    id,
    destinationId: 'ct',
    subject: { appUserIds: ['alice', 'alice-alias'], identities: [{ objectId: 'ct-alice' }, { identity: 'alice' }] },
    steps: 2,
    ...overrides,
  };
}

const take = (store: Store, owner: string, nowMs = T0, limit = 10, destinationIds = ['ct', 'amp']) =>
  store.erasures.takeErasureJobs({ owner, destinationIds, nowMs, leaseMs: LEASE_MS, limit } satisfies ErasureJobTake);

/** Erasure jobs (`ErasureJobs`, SPEC §15): durable, resumed at their step, one runner at a time, their identities gone once done. */
export function describeErasureJobsContract(factory: StoreFactory): void {
  describe('erasure jobs', () => {
    const { open } = contractDatabase(factory);

    it('reads the stored events naming a customer by any of their user ids, a page at a time, before they go', async () => {
      const store = await open();
      await store.queue.ingest(testEvent('e1', { userIds: ['alice', 'alice-original'] }), [pending()], T0);
      await store.queue.ingest(testEvent('e2', { userId: 'bob', userIds: ['bob', 'alice'], source: 'android' }), [pending()], T0 + 1);
      await store.queue.ingest(testEvent('e3', { userId: 'carol', userIds: ['carol'] }), [pending()], T0 + 2);
      await store.queue.ingest(testEvent('e4', { userIds: ['alice'] }), [pending()], T0 + 3);

      const first = await store.erasures.customerEvents('alice', undefined, 2);
      expect(first.map((event) => event.id)).toEqual(['e1', 'e2']);
      expect(first[1]).toEqual({ id: 'e2', source: 'android', body: testEvent('e2').body });
      expect((await store.erasures.customerEvents('alice', 'e2', 2)).map((event) => event.id)).toEqual(['e4']);
      expect(await store.erasures.customerEvents('nobody', undefined, 10)).toEqual([]);
    });

    it('keeps an added job pending and due at once, with its subject, count and steps', async () => {
      const store = await open();
      await store.erasures.addErasureJobs([erasureJob('j1'), erasureJob('j2', { destinationId: 'amp', steps: 1 })], T0);
      expect(await store.erasures.getErasureJob('j1')).toEqual({
        id: 'j1',
        destinationId: 'ct',
        state: 'pending',
        subject: erasureJob('j1').subject,
        identityCount: 3,
        attempts: 0,
        nextStep: 0,
        steps: 2,
        nextAttemptAtMs: T0,
        lastAnswer: null,
        windowStartMs: T0,
        createdAtMs: T0,
        updatedAtMs: T0,
      });
      expect(await store.erasures.getErasureJob('nope')).toBeUndefined();
    });

    it('resumes a job at its step after a retry, and forgets its subject once done', async () => {
      const store = await open();
      await store.erasures.addErasureJobs([erasureJob('j1', { steps: 3 })], T0);
      const [job] = await take(store, 'runner-a');
      expect(job).toMatchObject({ id: 'j1', nextStep: 0 });

      expect(
        await store.erasures.recordErasureStep(
          'j1',
          'runner-a',
          { type: 'step', nextStep: 1, steps: 3, lastAnswer: 'HTTP 200' },
          T0 + 1,
          LEASE_MS,
        ),
      ).toBe(true);
      expect(
        await store.erasures.recordErasureStep(
          'j1',
          'runner-a',
          { type: 'retry', retryInMs: 1_000, lastAnswer: 'HTTP 500: busy', steps: 3 },
          T0 + 2,
          LEASE_MS,
        ),
      ).toBe(true);
      expect(await store.erasures.getErasureJob('j1')).toMatchObject({
        state: 'pending',
        attempts: 1,
        nextStep: 1,
        nextAttemptAtMs: T0 + 1_002,
        lastAnswer: 'HTTP 500: busy',
      });
      // Not due yet, for anyone; then due, and taken (by a restarted runner) at the failed step.
      expect(await take(store, 'runner-a', T0 + 1_001)).toEqual([]);
      const restarted = await open();
      expect(await take(restarted, 'runner-b', T0 + 1_002)).toMatchObject([{ id: 'j1', nextStep: 1, attempts: 1 }]);

      await restarted.erasures.recordErasureStep(
        'j1',
        'runner-b',
        { type: 'step', nextStep: 2, steps: 3, lastAnswer: null },
        T0 + 1_003,
        LEASE_MS,
      );
      expect(await restarted.erasures.getErasureJob('j1')).toMatchObject({ state: 'pending', nextStep: 2, lastAnswer: 'HTTP 500: busy' });
      await restarted.erasures.recordErasureStep(
        'j1',
        'runner-b',
        { type: 'step', nextStep: 3, steps: 3, lastAnswer: 'HTTP 200' },
        T0 + 1_004,
        LEASE_MS,
      );
      expect(await restarted.erasures.getErasureJob('j1')).toEqual(
        expect.objectContaining({
          state: 'done',
          subject: null,
          identityCount: 3,
          nextStep: 3,
          steps: 3,
          nextAttemptAtMs: null,
          lastAnswer: 'HTTP 200',
        }),
      );
      expect(await take(restarted, 'runner-b', T0 + 10_000)).toEqual([]);
    });

    it('ends a job dead with its answer, keeping its subject, and makes a dead one pending again on request', async () => {
      const store = await open();
      await store.erasures.addErasureJobs([erasureJob('j1')], T0);
      await take(store, 'runner-a');
      expect(await store.erasures.retryErasureJob('j1', T0 + 1)).toBeUndefined(); // pending: nothing to retry
      await store.erasures.recordErasureStep(
        'j1',
        'runner-a',
        { type: 'dead', lastAnswer: 'HTTP 400: bad identity', steps: 2 },
        T0 + 2,
        LEASE_MS,
      );
      expect(await store.erasures.getErasureJob('j1')).toMatchObject({
        state: 'dead',
        attempts: 1,
        subject: erasureJob('j1').subject,
        nextAttemptAtMs: null,
        lastAnswer: 'HTTP 400: bad identity',
      });
      expect(await take(store, 'runner-a', T0 + 10_000)).toEqual([]);

      expect(await store.erasures.retryErasureJob('j1', T0 + 100)).toMatchObject({
        state: 'pending',
        attempts: 0,
        windowStartMs: T0 + 100,
        nextAttemptAtMs: T0 + 100,
      });
      expect(await take(store, 'runner-b', T0 + 100)).toMatchObject([{ id: 'j1', nextStep: 0 }]);
    });

    it('lets one runner hold a job at a time: another takes it only once released or its lease ran out', async () => {
      const [a, b] = [await open(), await open()];
      await a.erasures.addErasureJobs([erasureJob('j1'), erasureJob('j2')], T0);
      expect((await take(a, 'runner-a', T0, 1)).map((job) => job.id)).toEqual(['j1']);
      expect((await take(b, 'runner-b', T0, 10)).map((job) => job.id)).toEqual(['j2']);
      expect(await take(b, 'runner-b', T0 + LEASE_MS / 2)).toMatchObject([{ id: 'j2' }]);

      // A step renews the holder's lease; another runner's step changes nothing.
      expect(
        await b.erasures.recordErasureStep('j1', 'runner-b', { type: 'step', nextStep: 1, steps: 2, lastAnswer: null }, T0 + 1, LEASE_MS),
      ).toBe(false);
      expect(
        await a.erasures.recordErasureStep(
          'j1',
          'runner-a',
          { type: 'step', nextStep: 1, steps: 2, lastAnswer: null },
          T0 + LEASE_MS / 2,
          LEASE_MS,
        ),
      ).toBe(true);
      expect((await take(b, 'runner-b', T0 + LEASE_MS + 1)).map((job) => job.id)).toEqual(['j2']);

      // Its holder crashed: once the renewed lease ran out, another takes it at its step.
      expect((await take(b, 'runner-b', T0 + LEASE_MS / 2 + LEASE_MS + 1)).map((job) => [job.id, job.nextStep])).toEqual([
        ['j1', 1],
        ['j2', 0],
      ]);
      expect(
        await a.erasures.recordErasureStep(
          'j1',
          'runner-a',
          { type: 'step', nextStep: 2, steps: 2, lastAnswer: null },
          T0 + 2 * LEASE_MS,
          LEASE_MS,
        ),
      ).toBe(false);

      // Released at a stop: the next store takes them at once.
      expect(await b.erasures.releaseErasureJobs('runner-b')).toBe(2);
      expect(await b.erasures.releaseErasureJobs('runner-b')).toBe(0);
      expect((await take(a, 'runner-c', T0 + 2 * LEASE_MS)).map((job) => job.id)).toEqual(['j1', 'j2']);
    });

    it('gives each due job to exactly one of several stores taking at once', async () => {
      const stores = [await open(), await open(), await open()];
      await stores[0].erasures.addErasureJobs(
        Array.from({ length: 12 }, (_, i) => erasureJob(`j${String(i).padStart(2, '0')}`)),
        T0,
      );
      const taken = await Promise.all(stores.flatMap((store, i) => [take(store, `runner-${i}`, T0, 3), take(store, `runner-${i}`, T0, 3)]));
      const owners = new Map<string, Set<string>>();
      taken.forEach((jobs, i) => {
        for (const job of jobs) owners.set(job.id, (owners.get(job.id) ?? new Set()).add(`runner-${Math.floor(i / 2)}`));
      });
      for (const holders of owners.values()) expect(holders.size).toBe(1);
    });

    it('takes only jobs of the destinations asked for: one no longer configured waits, pending', async () => {
      const store = await open();
      await store.erasures.addErasureJobs([erasureJob('j1'), erasureJob('j2', { destinationId: 'gone' })], T0);
      expect((await take(store, 'runner-a', T0, 10, ['ct'])).map((job) => job.id)).toEqual(['j1']);
      expect(await take(store, 'runner-b', T0, 10, [])).toEqual([]);
      expect(await store.erasures.getErasureJob('j2')).toMatchObject({ state: 'pending' });
      expect((await take(store, 'runner-b', T0, 10, ['gone'])).map((job) => job.id)).toEqual(['j2']);
    });

    it('lists jobs newest first, filtered by state and destination, a page at a time', async () => {
      const store = await open();
      await store.erasures.addErasureJobs([erasureJob('j1')], T0);
      await store.erasures.addErasureJobs([erasureJob('j2', { destinationId: 'amp' })], T0 + 1);
      await store.erasures.addErasureJobs([erasureJob('j3')], T0 + 2);
      await take(store, 'runner-a', T0 + 3);
      await store.erasures.recordErasureStep('j2', 'runner-a', { type: 'dead', lastAnswer: 'no', steps: 2 }, T0 + 4, LEASE_MS);

      expect((await store.erasures.listErasureJobs({})).map((job) => job.id)).toEqual(['j3', 'j2', 'j1']);
      expect((await store.erasures.listErasureJobs({ limit: 2 })).map((job) => job.id)).toEqual(['j3', 'j2']);
      expect((await store.erasures.listErasureJobs({ before: 'j2' })).map((job) => job.id)).toEqual(['j1']);
      expect((await store.erasures.listErasureJobs({ state: 'dead' })).map((job) => job.id)).toEqual(['j2']);
      expect((await store.erasures.listErasureJobs({ destinationId: 'ct', state: 'pending' })).map((job) => job.id)).toEqual(['j3', 'j1']);
      const unknown = await store.erasures.listErasureJobs({ before: 'nope' }).catch((error: unknown) => error);
      expect(unknown).toBeInstanceOf(StoreInputError);
      expect(unknown).toMatchObject({ field: 'before', message: 'no erasure job with id "nope"' });
    });
  });
}
