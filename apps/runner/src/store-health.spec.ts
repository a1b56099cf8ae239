import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreUnavailableError } from '@ferry/core';
import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import { RUNNER_TOKENS } from './container';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  send,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';

/** What a running runner does when its store's file goes, fills up, or cannot finish an erase. */

let dir: TempDir;
let fake: FakeCleverTap;
let ferry: TestRunner;
let sequence = 0;

beforeEach(async () => {
  dir = await tempDir();
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
  ferry = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake)] }));
});

afterEach(async () => {
  await ferry.runner.close();
  await fake.close();
  await dir.remove();
});

afterAll(() => closeHttp());

const webhook = (overrides: Record<string, unknown> = {}) => webhookBody('renewal', { id: `health-${++sequence}`, ...overrides });
/** No room for one more page: free pages given back, then the file may not grow (SQLite answers SQLITE_FULL). */
function fillDisk(database: BetterSqlite3.Database): void {
  database.exec('pragma incremental_vacuum');
  database.pragma(`max_page_count = ${database.pragma('page_count', { simple: true }) as number}`);
}

const readiness = () => send('GET', `${ferry.runner.url}/readyz`);

describe('the SQLite file under a running runner', () => {
  it.each(['deleted', 'replaced'] as const)('is %s: webhooks get 503, readiness fails naming why, and the log says so', async (change) => {
    const file = path.join(dir.path, 'ferry.db');
    expect((await ferry.postWebhook(webhook())).status).toBe(200);
    if (change === 'deleted') await rm(file);
    else {
      await writeFile(path.join(dir.path, 'restored.db'), '');
      await rename(path.join(dir.path, 'restored.db'), file);
    }

    const answer = await ferry.postWebhook(webhook());
    expect(answer.status).toBe(503);
    expect(answer.json).toEqual({ error: 'store unavailable' });
    const ready = await readiness();
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({
      status: 'store unavailable',
      reason:
        `the SQLite file ${file} was ${change} while in use: new events are refused, since a restart would not find them ` +
        `(what was accepted before is still delivered); see README, "The store's own safety"`,
    });
    expect(ferry.logs.entries()).toContainEqual(expect.objectContaining({ level: 50, file, msg: ready.json.reason }));
  });
});

describe('a full disk', () => {
  it('fails readiness, naming the disk error, until there is room again; deliveries log the disk error, not a failed rollback', async () => {
    // Deliveries keep failing and being retried, so the delivery loop keeps writing.
    fake.inject(...Array.from({ length: 10_000 }, () => ({ type: 'status' as const, status: 503 })));
    for (let i = 0; i < 20; i += 1) expect((await ferry.postWebhook(webhook())).status).toBe(200);
    await waitFor('retries under way', () => fake.requests().length >= 20);

    // The runner's own connection: SQLite's page limit makes it answer SQLITE_FULL for real.
    const backend = await ferry.services.getAsync(RUNNER_TOKENS.StoreBackend);
    const connection = (backend as unknown as { database: BetterSqlite3.Database }).database;
    fillDisk(connection);
    await waitFor('the delivery loop meeting the full disk', () =>
      ferry.logs.entries().some((line) => String(line.error).includes('database or disk is full')),
    );
    // A webhook of several pages needs new ones.
    const big = webhook({ subscriber_attributes: { padding: { value: 'x'.repeat(40_000), updated_at_ms: 1 } } });
    expect((await ferry.postWebhook(big)).status).toBe(503);
    const full = await readiness();
    expect(full.status).toBe(503);
    expect(full.json).toEqual({
      status: 'store unavailable',
      reason: 'the store cannot commit (database or disk is full): new events are refused until it can',
    });

    connection.pragma('max_page_count = 1073741823');
    expect((await readiness()).status).toBe(200);
    expect((await ferry.postWebhook(big)).status).toBe(200);
    expect(ferry.logs.text()).not.toContain('cannot rollback');
  });
});

describe('an erase the store cannot finish', () => {
  it('answers 503 with the store’s reason, which names no user', async () => {
    const reason = 'the erase removed the events, but another connection kept reading the file: erase again once it has finished';
    ferry.runner.store.maintenance.erase = async () => {
      throw new StoreUnavailableError(reason);
    };
    const answer = await ferry.admin('POST', '/erase', { appUserId: 'someone' });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(answer.json).toEqual({ error: reason });
  });
});
