import { ingestEventOf } from '@ferry/core';
import { DestinationHealth } from './destination-health';
import { captureLogger } from './testing/logger';
import { MemoryStore } from './testing/memory-store';
import { encodeEvent, makeEvent } from './testing/test-plugin';

const T0 = 1_700_000_000_000;

async function setup(missingConfig: string[] = []) {
  const store = new MemoryStore();
  for (const state of ['pending', 'paused'] as const) {
    const event = makeEvent();
    await store.ingest(ingestEventOf(event, encodeEvent(event)), [{ destinationId: 'main', state }], T0);
  }
  let changes = 0;
  const health = new DestinationHealth(
    {
      destinationId: 'main',
      store,
      clock: { now: () => T0 + 10 },
      logger: captureLogger(),
      probeEveryMs: 30_000,
      safeText: (text) => text.replace('sk_secret', '[redacted]'),
      onChange: () => (changes += 1),
    },
    missingConfig,
  );
  const states = () => store.rows('main').map((row) => row.state);
  return { store, health, states, changes: () => changes };
}

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
    expect(health.status()).toEqual({ state: 'paused', reason: 'missing configuration: apiKey', since: T0 + 10 });
    expect(health.probing).toBe(false);
    expect(states()).toEqual(['paused', 'paused']);
    await health.probeAccepted();
    expect(health.paused).toBe(true);
    expect(changes()).toBe(0);
  });

  it('pauses once on refused credentials, probes, and resumes on an accepted probe', async () => {
    const { health, states, changes } = await setup();
    await health.credentialsRefused('HTTP 401 for sk_secret');
    await health.credentialsRefused('HTTP 401 again');
    expect(health.status()).toEqual({ state: 'paused', reason: 'HTTP 401 for [redacted]', since: T0 + 10 });
    expect(health.probing).toBe(true);
    expect(states()).toEqual(['paused', 'paused']);
    expect(changes()).toBe(1);

    await health.probeAccepted();
    expect(health.status()).toEqual({ state: 'running' });
    expect(states()).toEqual(['pending', 'pending']);
    expect(changes()).toBe(2);
  });
});
