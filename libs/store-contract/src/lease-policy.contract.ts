/// <reference types="jest" />
import {
  INTERRUPTED_ERROR,
  interruptedTooOftenError,
  MAX_INTERRUPTIONS,
  type LeaseSteps,
  type QueueBackend,
  type StoreBackend,
} from '@ferry/core';
import { contractDatabase, type StoreFactory } from './database';
import { LEASE_MS, leaseRequest, pending, T0, testEvent } from './fixtures';

/** One step the lease policy asked of the backend, with what it passed. */
interface StepCall {
  readonly step: keyof LeaseSteps;
  readonly args: readonly unknown[];
}

/**
 * The lease policy (the engine's, over each store's `LeaseSteps`): which steps a lease or a release takes, and
 * what it asks of them. The delivery queue's cases check what comes of it; these, that it does no more than it
 * needs (the bodies of the deliveries taken only; no look at due deliveries once the lease is full).
 */
export function describeLeasePolicyContract(factory: StoreFactory): void {
  describe('the lease policy over the store’s steps', () => {
    const { open, openBackend, compose, logged, deliveryOf } = contractDatabase(factory);

    /** A store whose lease steps are recorded in `calls`, each lease or release one entry of `transactions`. */
    async function recorded() {
      const backend = await openBackend();
      const transactions: StepCall[][] = [];
      const queue: QueueBackend = {
        ingest: (...args) => backend.queue.ingest(...args),
        renewLeases: (...args) => backend.queue.renewLeases(...args),
        heldLeases: (...args) => backend.queue.heldLeases(...args),
        complete: (...args) => backend.queue.complete(...args),
        setPaused: (...args) => backend.queue.setPaused(...args),
        nextDueAtMs: (...args) => backend.queue.nextDueAtMs(...args),
        leasing: (nowMs, work) => {
          const calls: StepCall[] = [];
          transactions.push(calls);
          return backend.queue.leasing(nowMs, (steps) => work(recording(steps, calls)));
        },
      };
      const wrapped: StoreBackend = {
        queue,
        log: backend.log,
        maintenance: backend.maintenance,
        coordination: backend.coordination,
        erasures: backend.erasures,
        activity: backend.activity,
        migrate: () => backend.migrate(),
        ping: () => backend.ping(),
        close: () => backend.close(),
      };
      const steps = () => transactions.map((calls) => calls.map((call) => call.step));
      const argsOf = (step: keyof LeaseSteps) =>
        transactions
          .flat()
          .filter((call) => call.step === step)
          .map((call) => call.args);
      return { store: compose(wrapped), transactions, steps, argsOf };
    }

    it('reads the bodies of only the deliveries it takes, once each, in the same transaction', async () => {
      const { store, steps, argsOf } = await recorded();
      const sized = (id: string) => testEvent(id, { body: JSON.stringify({ id, pad: 'x'.repeat(1_000) }) });
      for (let i = 0; i < 5; i++) await store.queue.ingest(sized(`big-${i}`), [pending()], T0 + i);
      // Another destination of one of them: the body is read once for both.
      await store.queue.ingest(sized('twice'), [pending('ct'), pending('amp')], T0 + 9);

      const bytes = Buffer.byteLength(sized('big-0').body);
      const leased = await store.queue.lease(leaseRequest({ nowMs: T0 + 10, maxBytes: 2 * bytes }));
      expect(leased.map((d) => d.eventId)).toEqual(['big-0', 'big-1']);
      expect(steps()).toEqual([['candidates', 'candidates', 'markLeased', 'bodies']]);
      expect(argsOf('bodies')).toEqual([[['big-0', 'big-1']]]);
      expect(argsOf('candidates')).toEqual([
        ['ct', 'takeOver', 100],
        ['ct', 'lease', 100],
      ]);
    });

    it('takes over expired leases first, and asks for due deliveries only while the lease has room', async () => {
      const { store, transactions, steps, argsOf } = await recorded();
      for (let i = 0; i < 5; i++) await store.queue.ingest(testEvent(`e-${i}`), [pending()], T0 + i);
      await store.queue.lease(leaseRequest({ limit: 3, nowMs: T0 + 10, leaseMs: 1_000 }));
      transactions.length = 0;

      // Three expired: a lease of three is full with them, and looks no further.
      expect((await store.queue.lease(leaseRequest({ limit: 3, nowMs: T0 + 2_000, owner: 'runner-b' }))).map((d) => d.eventId)).toEqual([
        'e-0',
        'e-1',
        'e-2',
      ]);
      expect(steps()).toEqual([['candidates', 'logAttempts', 'markLeased', 'bodies']]);
      expect(argsOf('markLeased')).toEqual([[expect.any(Array), 'takeOver', { owner: 'runner-b', leaseMs: LEASE_MS, interrupted: true }]]);
      transactions.length = 0;

      // Expired again (leased for LEASE_MS this time), then due: a lease of five takes the two due ones after them.
      const later = T0 + 2_000 + LEASE_MS + 1;
      expect((await store.queue.lease(leaseRequest({ limit: 5, nowMs: later, owner: 'runner-c' }))).map((d) => d.eventId)).toEqual([
        'e-0',
        'e-1',
        'e-2',
        'e-3',
        'e-4',
      ]);
      expect(argsOf('candidates')).toEqual([
        ['ct', 'takeOver', 5],
        ['ct', 'lease', 2],
      ]);
    });

    it('stops at the byte cap among expired leases, leaving those past it untouched, and asks for no due deliveries', async () => {
      const { store, transactions, argsOf } = await recorded();
      for (let i = 0; i < 3; i++) await store.queue.ingest(testEvent(`e-${i}`), [pending()], T0 + i);
      await store.queue.lease(leaseRequest({ limit: 2, nowMs: T0 + 10, leaseMs: 1_000 }));
      transactions.length = 0;

      const taken = await store.queue.lease(leaseRequest({ nowMs: T0 + 2_000, owner: 'runner-b', maxBytes: 1 }));
      expect(taken).toMatchObject([{ eventId: 'e-0', attempts: 1 }]);
      expect(argsOf('candidates')).toEqual([['ct', 'takeOver', 100]]);
      // The expired lease past the cap is not taken over: no attempt of it is counted or logged yet.
      const untouched = await deliveryOf(store, 'e-1');
      expect(untouched).toMatchObject({ state: 'in_flight', attempts: 0, attemptLog: [] });
      expect(await deliveryOf(store, 'e-2')).toMatchObject({ state: 'pending', attempts: 0 });

      // The next lease takes it over, counting its interrupted attempt once.
      expect(await store.queue.lease(leaseRequest({ nowMs: T0 + 2_000, owner: 'runner-c', maxBytes: 1 }))).toMatchObject([
        { eventId: 'e-1', attempts: 1 },
      ]);
      expect((await deliveryOf(store, 'e-1')).attemptLog.map((entry) => [entry.number, entry.error])).toEqual([[1, INTERRUPTED_ERROR]]);
    });

    it('probes paused deliveries only, and takes nothing without a transaction when the limit is 0', async () => {
      const { store, transactions, argsOf } = await recorded();
      await store.queue.ingest(testEvent('due'), [pending()], T0);
      await store.queue.ingest(testEvent('waiting'), [{ destinationId: 'ct', state: 'paused', reason: 'settings.apiKey' }], T0);

      expect((await store.queue.lease(leaseRequest({ from: 'paused', nowMs: T0 + 10 }))).map((d) => d.eventId)).toEqual(['waiting']);
      expect(argsOf('candidates')).toEqual([['ct', 'probe', 100]]);
      transactions.length = 0;
      expect(await store.queue.lease(leaseRequest({ limit: 0, nowMs: T0 + 10 }))).toEqual([]);
      expect(transactions).toEqual([]);
    });

    it('releases in one transaction: the in-flight deliveries, their interrupted attempts, and the move back to pending', async () => {
      const { store, steps, transactions } = await recorded();
      await store.queue.ingest(testEvent('e1'), [pending()], T0);
      await store.queue.lease(leaseRequest({ nowMs: T0 }));
      transactions.length = 0;

      expect(await store.queue.releaseLeases()).toBe(1);
      expect(steps()).toEqual([['inFlight', 'logAttempts', 'release']]);
      expect(await deliveryOf(store, 'e1')).toMatchObject({ state: 'pending', attempts: 1, lastError: INTERRUPTED_ERROR });
      transactions.length = 0;
      expect(await store.queue.releaseLeases()).toBe(0);
      expect(steps()).toEqual([['inFlight']]);
    });

    it('logs the deliveries it sets aside as dead, with the reason', async () => {
      const store = await open();
      await store.queue.ingest(testEvent('poison'), [pending()], T0);
      let nowMs = T0;
      await store.queue.lease(leaseRequest({ nowMs }));
      for (let i = 1; i <= MAX_INTERRUPTIONS; i++)
        await store.queue.lease(leaseRequest({ nowMs: (nowMs += LEASE_MS + 1), owner: `runner-${i}` }));

      const { id } = await deliveryOf(store, 'poison');
      expect(logged().filter((line) => line.level === 'warn')).toEqual([
        {
          level: 'warn',
          fields: { deliveryIds: [id], reason: interruptedTooOftenError(MAX_INTERRUPTIONS) },
          message: 'deliveries set aside as dead: their runner kept stopping while sending them',
        },
      ]);
    });
  });
}

/** `steps`, with each call recorded in `calls` before it runs. */
function recording(steps: LeaseSteps, calls: StepCall[]): LeaseSteps {
  const record =
    <Step extends keyof LeaseSteps>(step: Step) =>
    (...args: Parameters<LeaseSteps[Step]>) => {
      calls.push({ step, args });
      return (steps[step] as (...given: Parameters<LeaseSteps[Step]>) => ReturnType<LeaseSteps[Step]>).apply(steps, args);
    };
  return {
    candidates: record('candidates'),
    inFlight: record('inFlight'),
    logAttempts: record('logAttempts'),
    abandon: record('abandon'),
    markLeased: record('markLeased'),
    release: record('release'),
    bodies: record('bodies'),
  };
}
