import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startFakeCleverTap, type FakeCleverTap } from '@ferry/testkit';
import { ACCOUNT_ID, PASSCODE, clevertapDestination, closeHttp, tempDir, testConfig, waitFor, type TempDir } from './testing/harness';
import { postgresFor } from './testing/postgres';
import { Child, MAIN, postWebhookTo, probeOf, probeWebhook } from './testing/processes';

const databaseUrl = postgresFor('multi-runner test');

const RUNNERS = 3;
const WEBHOOKS = 3_000;
/** Webhooks posted at once, spread round-robin over the runners. */
const POSTERS = 24;
/** Short, so the survivors take over the killed runner's deliveries soon; longer than a request's timeout (10 s). */
const LEASE_MS = 15_000;

interface HeldLease {
  readonly eventId: string;
  readonly leaseMs: number;
}

(databaseUrl ? describe : describe.skip)(
  databaseUrl ? 'three runner processes on one Postgres' : 'three runner processes on one Postgres (SKIPPED: DATABASE_URL is not set)',
  () => {
    const schema = `multi_${randomUUID().replace(/-/g, '')}`;
    let db: pg.Client;
    let dir: TempDir;
    let fake: FakeCleverTap;
    const children: Child[] = [];

    beforeAll(async () => {
      db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      await db.query(`create schema ${schema}`);
      dir = await tempDir();
      // Some latency keeps requests in flight, so the kill lands on batches that are being sent.
      fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, latencyMs: 100 });
    });

    afterAll(async () => {
      for (const child of children) {
        if (child.alive) child.kill('SIGKILL');
        await child.exited;
      }
      await fake?.close();
      await closeHttp();
      await dir?.remove();
      await db?.query(`drop schema if exists ${schema} cascade`);
      await db?.end();
    });

    /** The deliveries a runner process holds leased; its lease owner is `host:pid:…`. */
    async function leasesHeldBy(pid: number): Promise<HeldLease[]> {
      const { rows } = await db.query<HeldLease>(
        `select event_id as "eventId", (lease_until_ms - updated_at_ms)::int as "leaseMs"
           from ${schema}.deliveries where state = 'in_flight' and lease_owner like $1`,
        [`%:${pid}:%`],
      );
      return rows;
    }

    async function deliveryStates(): Promise<Record<string, number>> {
      const { rows } = await db.query<{ state: string; count: number }>(
        `select state, count(*)::int as count from ${schema}.deliveries group by state`,
      );
      return Object.fromEntries(rows.map((row) => [row.state, row.count]));
    }

    it('lose nothing when one is killed under load: the others take over its leases', async () => {
      const url = new URL(databaseUrl as string);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const config = testConfig(dir.path, {
        store: { url: url.toString() },
        destinations: [clevertapDestination(fake, {}, { timeoutMs: 10_000 })],
        delivery: { leaseMs: LEASE_MS },
        log: { level: 'info' },
      });
      const configFile = path.join(dir.path, 'ferry.config.json');
      await writeFile(configFile, JSON.stringify(config));
      // Started together: their migrations race on the empty schema.
      for (let i = 0; i < RUNNERS; i++) children.push(new Child(MAIN, ['--config', configFile], dir.path));
      const urls = await Promise.all(children.map((child) => child.url()));
      const victim = children[1];

      const ids = Array.from({ length: WEBHOOKS }, (_, i) => `multi-${i}`);
      const accepted = new Set<string>();
      /** Like RevenueCat retrying: a webhook a runner did not take goes to the next one. */
      const accept = async (index: number) => {
        const failures: string[] = [];
        for (let attempt = 0; attempt < RUNNERS; attempt++) {
          const target = urls[(index + attempt) % RUNNERS];
          try {
            const answer = await postWebhookTo(target, probeWebhook(ids[index]));
            if (answer.status === 200) {
              accepted.add(ids[index]);
              return;
            }
            failures.push(`${target}: ${answer.status} ${answer.text}`);
          } catch (error) {
            failures.push(`${target}: ${String(error)}`);
          }
        }
        throw new Error(`webhook ${ids[index]} was taken by no runner: ${failures.join('; ')}`);
      };

      const killVictim = async (): Promise<HeldLease[]> => {
        await waitFor('a third of the webhooks accepted', () => accepted.size >= WEBHOOKS / 3);
        const held = await waitFor('the runner to kill holding leases', async () => {
          victim.kill('SIGSTOP'); // frozen, so the leases read now are exactly those it holds when killed
          const leases = await leasesHeldBy(victim.pid);
          if (leases.length > 0) return leases;
          victim.kill('SIGCONT');
          return false;
        });
        victim.kill('SIGKILL');
        return held;
      };
      const killed = killVictim();

      let next = 0;
      const poster = async () => {
        for (let index = next++; index < WEBHOOKS; index = next++) {
          if (index >= (2 * WEBHOOKS) / 3) await killed; // the last third is posted after the kill
          await accept(index);
        }
      };
      const [heldAtKill] = await Promise.all([killed, ...Array.from({ length: POSTERS }, poster)]);
      expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(new Set(heldAtKill.map((lease) => lease.leaseMs))).toEqual(new Set([LEASE_MS])); // delivery.leaseMs reaches the dispatcher

      await waitFor(`all ${WEBHOOKS} accepted webhooks at CleverTap`, () => {
        const arrived = new Set(fake.records().map((stored) => probeOf(stored.record)));
        return ids.every((id) => arrived.has(id));
      });
      // Nothing pending or in flight any more: the killed runner's leases expired and were taken over.
      await waitFor('every delivery delivered', async () => (await deliveryStates()).delivered === WEBHOOKS);
      expect(await deliveryStates()).toEqual({ delivered: WEBHOOKS });

      const copies = new Map<string, number>();
      for (const { record } of fake.records()) {
        const id = String(probeOf(record));
        copies.set(id, (copies.get(id) ?? 0) + 1);
      }
      const duplicated = [...copies].filter(([, count]) => count > 1).map(([id]) => id);
      const extraRecords = [...copies.values()].reduce((sum, count) => sum + count - 1, 0);
      console.log(
        `multi-runner: ${accepted.size} accepted, ${copies.size} delivered, ${extraRecords} duplicated ` +
          `(the killed runner held ${heldAtKill.length} deliveries at the kill)`,
      );
      expect(accepted.size).toBe(WEBHOOKS);
      expect([...copies.keys()].sort()).toEqual([...ids].sort());
      // At-least-once, and only where it cannot be helped: what arrived twice was held by the killed runner, once each.
      const held = new Set(heldAtKill.map((lease) => lease.eventId));
      expect(duplicated.filter((id) => !held.has(id))).toEqual([]);
      expect(Math.max(...copies.values())).toBeLessThanOrEqual(2);

      const survivors = children.filter((child) => child !== victim);
      for (const survivor of survivors) survivor.kill('SIGTERM');
      for (const survivor of survivors) expect(await survivor.exited).toEqual({ code: 0, signal: null });
    });
  },
);
