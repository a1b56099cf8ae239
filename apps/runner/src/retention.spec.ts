import { randomUUID } from 'node:crypto';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { TOKENS, type Clock, type StoreBackend } from '@ferry/core';
import { composeStore } from '@ferry/engine';
import { openStore } from '@ferry/store';
import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import type { ConfigInput } from './config';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';
import { postgresFor } from './testing/postgres';

const DAY_MS = 86_400_000;
const DESTINATION = 'clevertap-main';

/** The system clock moved forward by hand: deliveries still run in real time, days pass at once. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}

let dir: TempDir;
let fake: FakeCleverTap;
let t: TestRunner | undefined;

beforeEach(async () => {
  dir = await tempDir();
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
});

afterEach(async () => {
  await t?.runner.close();
  t = undefined;
  await fake.close();
  await dir.remove();
});

afterAll(() => closeHttp());

async function start(config: ConfigInput, clock: Clock): Promise<TestRunner> {
  t = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake)], ...config }), {
    configure: (services) => services.replaceValue(TOKENS.Clock, clock),
  });
  return t;
}

/** Event records CleverTap accepted (profile records carrying state are not counted). */
const eventRecords = () => fake.records().filter((stored) => (stored.record as { type?: unknown }).type === 'event');

describe('retention on SQLite (soak, clock moved forward)', () => {
  it('keeps the file bounded at retention’s minimum of a day while losing nothing undelivered', async () => {
    const clock = movableClock();
    const runner = await start({ retention: { days: 1, deadDays: 1 } }, clock);
    const file = path.join(dir.path, 'ferry.db');
    /** The file's size as it stands after a checkpoint: the pages it uses, free ones included. */
    const size = () => {
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
      } finally {
        db.close();
      }
    };
    const posted: string[] = [];
    const postDay = async (day: number) => {
      for (let i = 0; i < 100; i += 1) {
        const id = `day${day}-${i}-${randomUUID()}`;
        posted.push(id);
        expect((await runner.postWebhook(webhookBody('renewal', { id, app_user_id: `user-${i}` }))).status).toBe(200);
      }
    };
    /** Every posted event at CleverTap, and its outcome written back (until then it is in flight, and kept). */
    const delivered = async () => {
      await waitFor('every posted event to reach CleverTap', () => (eventRecords().length >= posted.length ? true : undefined));
      await waitFor('every outcome to be stored', async () => {
        const { deliveries } = await runner.runner.store.log.stats(clock.now());
        return deliveries.every((row) => row.state === 'delivered') || undefined;
      });
    };

    const sizes: number[] = [];
    for (let day = 0; day < 6; day += 1) {
      await postDay(day);
      await delivered();
      clock.advance(DAY_MS + 60_000);
      expect(await runner.runner.retention.run()).toMatchObject({ busy: false, removed: 100 });
      sizes.push(size());
    }
    expect(eventRecords()).toHaveLength(posted.length);
    // Each day's events go a day later and give their pages back: the file does not grow with the days.
    expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(sizes[0] * 1.25);

    // Undelivered events are never removed, however old: a paused destination's wait a week, then go.
    await runner.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'maintenance' });
    const waiting = posted.length;
    await postDay(99);
    clock.advance(7 * DAY_MS);
    expect(await runner.runner.retention.run()).toMatchObject({ removed: 0 });
    expect((await runner.runner.store.log.stats(clock.now())).events).toBe(posted.length - waiting);
    await runner.admin('POST', `/destinations/${DESTINATION}/resume`);
    await delivered();
    expect(eventRecords()).toHaveLength(posted.length);
    clock.advance(DAY_MS + 60_000);
    expect(await runner.runner.retention.run()).toMatchObject({ removed: 100 });
    expect((await runner.runner.store.log.stats(clock.now())).events).toBe(0);
  });

  it('refuses retention settings below the minimum, naming the field', async () => {
    await expect(start({ retention: { days: 0 } }, movableClock())).rejects.toThrow(/retention\.days/);
    await expect(start({ retention: { days: 10, deadDays: 5 } }, movableClock())).rejects.toThrow(
      /retention\.deadDays: must not be less than retention\.days/,
    );
    await expect(start({ retention: { days: 'soon' } as never }, movableClock())).rejects.toThrow(/retention\.days/);
  });
});

describe('erasure through the admin API (SQLite)', () => {
  it('removes every event naming the user, in any field, and answers {"erased": N}; garbage gets a 400 naming the field', async () => {
    const runner = await start({}, movableClock());
    const bodies = [
      webhookBody('renewal', { id: 'own', app_user_id: 'erase-me' }),
      webhookBody('renewal', { id: 'alias', app_user_id: 'anon-7', aliases: ['anon-7', 'erase-me'] }),
      webhookBody('renewal', { id: 'original', app_user_id: 'anon-8', original_app_user_id: 'erase-me' }),
      webhookBody('renewal', { id: 'someone-else', app_user_id: 'keep-me' }),
    ];
    for (const body of bodies) expect((await runner.postWebhook(body)).status).toBe(200);
    expect(
      (await runner.postWebhook(webhookBody('transfer', { id: 'transfer', transferred_from: ['erase-me'], transferred_to: ['new-user'] })))
        .status,
    ).toBe(200);

    const answer = await runner.admin('POST', '/erase', { appUserId: 'erase-me' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ erased: 4 });
    const left = await runner.admin('GET', '/events?limit=500');
    expect(left.json.events.map((event: { id: string }) => event.id)).toEqual(['someone-else']);
    expect(runner.logs.text()).not.toContain('"appUserId":"erase-me"');
    expect((await runner.admin('POST', '/erase', { appUserId: 'erase-me' })).json).toEqual({ erased: 0 });

    for (const garbage of [{}, { appUserId: '' }, { appUserId: 42 }, { appUserId: 'x', extra: true }, ['erase-me']]) {
      const refused = await runner.admin('POST', '/erase', garbage);
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/appUserId|extra|expected object/);
    }
  });
});

const databaseUrl = postgresFor('retention runner test');

(databaseUrl ? describe : describe.skip)('erasure on Postgres while another runner holds the lease', () => {
  let db: pg.Client;
  let schema: string;
  let eraser: StoreBackend;

  beforeEach(async () => {
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    schema = `ret_${randomUUID().replace(/-/g, '')}`;
    await db.query(`create schema ${schema}`);
  });

  afterEach(async () => {
    await eraser?.close();
    await db.query(`drop schema if exists ${schema} cascade`);
    await db.end();
  });

  it('sends nothing of the user once erased, though the runner had leased it; its outcome finds nothing', async () => {
    const url = new URL(databaseUrl!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    eraser = await openStore(url.toString());
    let erasedAfterLease = 0;
    t = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake)], store: { url: url.toString() } }), {
      configure: (services) =>
        services.replaceFactory(TOKENS.Store, {}, async () => {
          const store = composeStore(await openStore(url.toString()));
          const lease = store.queue.lease.bind(store.queue);
          // Another runner erases the user just after this one leased the delivery, before it is sent.
          store.queue.lease = async (request) => {
            const leased = await lease(request);
            if (leased.length > 0 && erasedAfterLease === 0) erasedAfterLease = await composeStore(eraser).maintenance.erase('erase-me');
            return leased;
          };
          return store;
        }),
    });
    expect((await t.postWebhook(webhookBody('renewal', { id: 'doomed', app_user_id: 'erase-me' }))).status).toBe(200);
    await waitFor('the erase to happen after the lease', () => erasedAfterLease === 1 || undefined);
    await waitFor('the runner to give up the batch', () => t!.logs.text().includes('lost the leases') || undefined);

    expect(eventRecords()).toEqual([]);
    const { rows } = await db.query(
      `select (select count(*) from ${schema}.events)::int as events, (select count(*) from ${schema}.deliveries)::int as deliveries, (select count(*) from ${schema}.attempts)::int as attempts`,
    );
    expect(rows[0]).toEqual({ events: 0, deliveries: 0, attempts: 0 });
    // Later events of others still go.
    expect((await t.postWebhook(webhookBody('renewal', { id: 'fine', app_user_id: 'keep-me' }))).status).toBe(200);
    await waitFor('the other user’s event to arrive', () => eventRecords().length === 1 || undefined);
  });
});
