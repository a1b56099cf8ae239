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

/** What a running runner answers when its store cannot do what was asked. */

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
