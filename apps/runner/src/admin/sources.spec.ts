import path from 'node:path';
import type { IngestEvent } from '@ferry/core';
import { revenueCatSource } from '@ferry/revenuecat';
import { openStore } from '@ferry/store';
import { tempDir, type TempDir } from '../testing/harness';
import { AdminService } from './service';
import { listSources } from './sources';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const event = (id: string, source: string): IngestEvent => ({
  id,
  source,
  type: 'RENEWAL',
  kind: 'renewal',
  userId: 'user-1',
  productId: null,
  environment: 'PRODUCTION',
  timestampMs: 1_700_000_000_000,
  body: JSON.stringify({ event: { id } }),
});

const configured = ['ios', 'android', 'web'].map((id) => ({ id, plugin: revenueCatSource, settings: {} }));

it("lists every configured source, in the config's order, with its stored events and this runner's webhook counts", async () => {
  const store = await openStore(`sqlite:${path.join(dir.path, 'sources.db')}`);
  try {
    const ingests: [string, string][] = [
      ['i-1', 'ios'],
      ['i-2', 'ios'],
      ['i-3', 'ios'],
      ['a-1', 'android'],
      ['gone-1', 'retired'],
    ];
    for (const [id, source] of ingests)
      await store.queue.ingest(event(id, source), [{ destinationId: 'ct', state: 'pending' }], Date.now());
    const counts = new Map([
      ['ios', { duplicate: 2, rejected: 1 }],
      ['retired', { duplicate: 9, rejected: 9 }],
    ]);
    const admin = new AdminService({ destinations: [], sources: configured, log: store.log, webhookCounts: () => counts });

    expect(await admin.call(listSources)).toEqual({
      sources: [
        { id: 'ios', plugin: 'revenuecat', webhookPath: '/webhooks/ios', counts: { stored: 3, duplicate: 2, rejected: 1 } },
        { id: 'android', plugin: 'revenuecat', webhookPath: '/webhooks/android', counts: { stored: 1, duplicate: 0, rejected: 0 } },
        { id: 'web', plugin: 'revenuecat', webhookPath: '/webhooks/web', counts: { stored: 0, duplicate: 0, rejected: 0 } },
      ],
    });
    // Where no webhooks are taken (the command line) duplicate and rejected are unknown, not zero.
    const offline = new AdminService({ destinations: [], sources: configured, log: store.log });
    expect((await offline.call(listSources)).sources[0].counts).toEqual({ stored: 3, duplicate: null, rejected: null });
  } finally {
    await store.close();
  }
});
