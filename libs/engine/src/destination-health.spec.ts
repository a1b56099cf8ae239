import { ingestEventOf, type DestinationPause } from '@ferry/core';
import { DestinationHealth } from './destination-health';
import { MemoryDatabase, MemoryStore } from '@ferry/testkit';
import { captureLogger } from './testing/logger';
import { encodeEvent, makeEvent } from './testing/test-plugin';

const T0 = 1_700_000_000_000;

/** One runner's health of destination `main`; runners given the same database share its store. */
function healthOn(database: MemoryDatabase, missingConfig: string[] = [], ownerId = 'runner-a') {
  const store = new MemoryStore(database);
  let changes = 0;
  const health = new DestinationHealth(
    {
      destinationId: 'main',
      queue: store.queue,
      pauses: store.coordination,
      clock: { now: () => T0 + 10 },
      logger: captureLogger(),
      probeEveryMs: 30_000,
      ownerId,
      safeText: (text) => text.replace('sk_secret', '[redacted]'),
      onChange: () => (changes += 1),
    },
    missingConfig,
  );
  return { store, health, changes: () => changes };
}

async function setup(missingConfig: string[] = []) {
  const database = new MemoryDatabase();
  const runner = healthOn(database, missingConfig);
  for (const state of ['pending', 'paused'] as const) {
    const event = makeEvent();
    await runner.store.queue.ingest(ingestEventOf(event, encodeEvent(event)), [{ destinationId: 'main', state }], T0);
  }
  const states = () => runner.store.rows('main').map((row) => row.state);
  return { ...runner, database, states };
}

const operatorPause: DestinationPause = { destinationId: 'main', cause: 'operator', reason: 'maintenance', sinceMs: T0 + 5, setBy: 'cli' };

describe('DestinationHealth', () => {
  it('at start, takes back the paused deliveries of a destination that can send', async () => {
    const { health, states } = await setup();
    await health.settle();
    expect(health.status()).toEqual({ state: 'running' });
    expect(states()).toEqual(['pending', 'pending']);
  });

  it('keeps a destination without its config paused, parks its deliveries, and never probes', async () => {
    const { health, states, changes } = await setup(['apiKey']);
    await health.settle();
    expect(health.status()).toEqual({
      state: 'paused',
      pausedBy: 'configuration',
      reason: 'missing configuration: apiKey',
      since: T0 + 10,
    });
    expect(health.probing).toBe(false);
    expect(health.cannotSend).toBe(true);
    expect(health.takeProbeTurn()).toBe(Infinity);
    expect(states()).toEqual(['paused', 'paused']);
    await health.probeAccepted();
    expect(health.paused).toBe(true);
    expect(changes()).toBe(0);
  });

  it('pauses once on refused credentials, for every runner, and one accepted probe resumes all', async () => {
    const { health, states, changes, database } = await setup();
    const other = healthOn(database, [], 'runner-b');
    await health.credentialsRefused('HTTP 401 for sk_secret');
    await health.credentialsRefused('HTTP 401 again');
    const paused = { state: 'paused', pausedBy: 'credentials', reason: 'HTTP 401 for [redacted]', since: T0 + 10 };
    expect(health.status()).toEqual(paused);
    expect(health.probing).toBe(true);
    expect(states()).toEqual(['paused', 'paused']);
    expect(changes()).toBe(1);
    expect([...database.pauses.values()]).toEqual([
      { destinationId: 'main', cause: 'credentials', reason: 'HTTP 401 for [redacted]', sinceMs: T0 + 10, setBy: 'runner-a' },
    ]);

    await other.health.refresh();
    expect(other.health.status()).toEqual(paused);
    expect(other.health.probing).toBe(true);

    await other.health.probeAccepted();
    expect(other.health.status()).toEqual({ state: 'running' });
    expect(states()).toEqual(['pending', 'pending']);
    await health.refresh();
    expect(health.status()).toEqual({ state: 'running' });
    expect(changes()).toBe(2);
  });

  it("holds an operator's pause without probing, and an accepted probe does not end it", async () => {
    const { health, store, states } = await setup();
    await health.settle();
    await store.coordination.pauseDestination(operatorPause);
    expect(health.paused).toBe(false); // until it reads the store again
    await health.refresh();
    expect(health.status()).toEqual({ state: 'paused', pausedBy: 'operator', reason: 'maintenance', since: T0 + 5 });
    expect(health.probing).toBe(false);
    expect(health.takeProbeTurn()).toBe(Infinity);
    // A refusal seen on a batch sent just before leaves the operator's pause as it is.
    await health.credentialsRefused('HTTP 401');
    expect(health.status()).toMatchObject({ pausedBy: 'operator' });
    expect(states()).toEqual(['paused', 'paused']);

    await store.coordination.resumeDestination('main', T0 + 20);
    await health.refresh();
    expect(health.status()).toEqual({ state: 'running' });
    expect(states()).toEqual(['pending', 'pending']);
  });

  it('starts paused when the store holds a pause (a restart), and probes a credentials pause at once', async () => {
    const { health, store, states } = await setup();
    await store.coordination.pauseDestination({ ...operatorPause, cause: 'credentials' });
    await store.queue.setPaused('main', false, T0); // deliveries left pending, as by a crash mid-pause
    await health.settle();
    expect(health.status()).toMatchObject({ state: 'paused', pausedBy: 'credentials' });
    expect(states()).toEqual(['paused', 'paused']);
    expect(health.takeProbeTurn()).toBe(0);
    expect(health.takeProbeTurn()).toBeGreaterThan(0); // the next one waits its interval
  });

  it('keeps the last state seen while the store cannot be read', async () => {
    const { health, store } = await setup();
    await health.credentialsRefused('HTTP 403');
    await store.close();
    await health.refresh();
    expect(health.status()).toMatchObject({ state: 'paused', pausedBy: 'credentials' });
  });
});
