/// <reference types="jest" />
import type { AlertClaim, Store } from '@ferry/core';
import { contractDatabase, type StoreFactory } from '../database';
import { LEASE_MS, T0 } from '../fixtures';

function claimOf(key: string, overrides: Partial<AlertClaim> = {}): AlertClaim {
  return { key, alert: JSON.stringify({ kind: 'paused', key }), targets: 2, owner: 'runner-a', nowMs: T0, leaseMs: LEASE_MS, ...overrides };
}

const hold = (store: Store, owner: string, nowMs = T0, limit = 100) =>
  store.coordination.holdAlerts({ owner, nowMs, leaseMs: LEASE_MS, limit });

/** Alert claims and their outbox (`AlertOutbox`): of several runners on one database, one sends each alert. */
export function describeAlertOutboxContract(factory: StoreFactory): void {
  describe('alert claims and their outbox', () => {
    const { open } = contractDatabase(factory);

    describe('alert claims', () => {
      it('gives a key to its first claimer only, across stores on the database and restarts', async () => {
        const store = await open();
        expect(await store.coordination.claimAlert(claimOf('paused:ct:1'))).toBe(true);
        expect(await store.coordination.claimAlert(claimOf('paused:ct:1', { nowMs: T0 + 1 }))).toBe(false);
        expect(await store.coordination.claimAlert(claimOf('paused:ct:2', { nowMs: T0 + 2 }))).toBe(true);
        const other = await open(); // another runner, or the same one after a restart
        expect(await other.coordination.claimAlert(claimOf('paused:ct:1', { nowMs: T0 + 3, owner: 'runner-b' }))).toBe(false);
        expect(await other.coordination.claimAlert(claimOf('resumed:ct:1', { nowMs: T0 + 3, owner: 'runner-b' }))).toBe(true);
      });

      it('gives a key claimed by two stores at once to exactly one of them, which alone holds its alert', async () => {
        const [a, b] = [await open(), await open()];
        const owners = ['runner-a', 'runner-b', 'runner-a', 'runner-b'];
        const claims = await Promise.all(owners.map((owner, i) => [a, b][i % 2].coordination.claimAlert(claimOf('dead:ct:42', { owner }))));
        expect(claims.filter(Boolean)).toHaveLength(1);
        const winner = owners[claims.indexOf(true)];
        const loser = winner === 'runner-a' ? 'runner-b' : 'runner-a';
        expect(await hold(a, winner)).toHaveLength(2);
        expect(await hold(b, loser)).toEqual([]);
      });
    });

    describe('the alert outbox', () => {
      it('keeps a claimed alert for each target until that target is done with it, oldest first', async () => {
        const store = await open();
        const paused = claimOf('paused:ct:1');
        await store.coordination.claimAlert(paused);
        await store.coordination.claimAlert(claimOf('resumed:ct:1', { nowMs: T0 + 5, alert: '{"kind":"resumed"}' }));
        expect(await hold(store, 'runner-a')).toEqual([
          { key: 'paused:ct:1', target: 0, alert: paused.alert },
          { key: 'paused:ct:1', target: 1, alert: paused.alert },
          { key: 'resumed:ct:1', target: 0, alert: '{"kind":"resumed"}' },
          { key: 'resumed:ct:1', target: 1, alert: '{"kind":"resumed"}' },
        ]);
        expect(await hold(store, 'runner-a', T0, 1)).toEqual([{ key: 'paused:ct:1', target: 0, alert: paused.alert }]);

        await store.coordination.alertSent('paused:ct:1', 0);
        await store.coordination.alertSent('resumed:ct:1', 1);
        expect((await hold(store, 'runner-a')).map(({ key, target }) => `${key}#${target}`)).toEqual(['paused:ct:1#1', 'resumed:ct:1#0']);
        // Sent twice (another runner took it over and sent it too): nothing left, no error.
        await store.coordination.alertSent('paused:ct:1', 0);
      });

      it('leaves an alert held by a live runner to it, and lets another take it once released or its lease ran out', async () => {
        const [a, b] = [await open(), await open()];
        await a.coordination.claimAlert(claimOf('paused:ct:1', { targets: 1 }));
        expect(await hold(b, 'runner-b', T0 + LEASE_MS / 2)).toEqual([]);
        // Renewed by its holder: still not another's when the first lease would have ended.
        expect(await hold(a, 'runner-a', T0 + LEASE_MS / 2)).toHaveLength(1);
        expect(await hold(b, 'runner-b', T0 + LEASE_MS + 1)).toEqual([]);

        // Its holder crashed: once the renewed lease runs out, another runner takes it over.
        expect(await hold(b, 'runner-b', T0 + LEASE_MS / 2 + LEASE_MS + 1)).toEqual([expect.objectContaining({ key: 'paused:ct:1' })]);
        expect(await hold(a, 'runner-a', T0 + LEASE_MS / 2 + LEASE_MS + 2)).toEqual([]);

        // Released at a stop: the next store on the database (a restart) takes it at once.
        expect(await b.coordination.releaseAlerts('runner-b')).toBe(1);
        expect(await b.coordination.releaseAlerts('runner-b')).toBe(0);
        const restarted = await open();
        expect(await hold(restarted, 'runner-c', T0 + LEASE_MS)).toEqual([expect.objectContaining({ key: 'paused:ct:1', target: 0 })]);
      });

      it('prunes old claims whose alert is sent, at most `limit` at a time, and keeps unsent and newer ones', async () => {
        const store = await open();
        for (let i = 0; i < 5; i++) await store.coordination.claimAlert(claimOf(`dead:ct:${i}`, { nowMs: T0 + i, targets: 0 }));
        await store.coordination.claimAlert(claimOf('paused:ct:unsent', { nowMs: T0, targets: 1 }));
        expect(await store.coordination.pruneAlertClaims(T0 + 3, 2)).toBe(2);
        expect(await store.coordination.pruneAlertClaims(T0 + 3, 2)).toBe(1);
        expect(await store.coordination.pruneAlertClaims(T0 + 3, 2)).toBe(0);
        // A pruned key may be claimed again; the others are still claimed.
        expect(await store.coordination.claimAlert(claimOf('dead:ct:0', { nowMs: T0 + 10, targets: 0 }))).toBe(true);
        expect(await store.coordination.claimAlert(claimOf('dead:ct:3', { targets: 0 }))).toBe(false);
        expect(await store.coordination.claimAlert(claimOf('paused:ct:unsent', { targets: 0 }))).toBe(false);

        // Once every target is done with it, an old claim goes too.
        await store.coordination.alertSent('paused:ct:unsent', 0);
        expect(await store.coordination.pruneAlertClaims(T0 + 3, 10)).toBe(1);
        expect(await store.coordination.claimAlert(claimOf('paused:ct:unsent', { targets: 0 }))).toBe(true);
      });
    });
  });
}
