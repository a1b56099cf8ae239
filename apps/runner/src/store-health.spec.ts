import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StoreUnavailableError } from '@ferry/core';
import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  send,
  startTestRunner,
  tempDir,
  testConfig,
  type TempDir,
  type TestRunner,
} from './testing/harness';

/** What a running runner does when its store's file goes, or an erase cannot finish. */

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

describe('an erase the store cannot finish', () => {
  it('answers 503 with the store’s reason, which names no user', async () => {
    const reason = 'the erase removed the events, but another connection kept reading the file: erase again once it has finished';
    ferry.runner.store.erase = async () => {
      throw new StoreUnavailableError(reason);
    };
    const answer = await ferry.admin('POST', '/erase', { appUserId: 'someone' });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(answer.json).toEqual({ error: reason });
  });
});
