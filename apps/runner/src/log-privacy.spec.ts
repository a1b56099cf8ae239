import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  waitFor,
  type TempDir,
} from './testing/harness';

/** The customer's ids, distinctive enough that any trace of them in a log line or an alert is found. */
const APP_USER = 'privacy-user-3f9a1c';
const ORIGINAL = 'privacy-original-7b2e4d';
const ALIAS = 'privacy-alias-5c8d0e';
const CLEVERTAP_ID = 'privacy-ct-profile-91d7';
const IDS = [APP_USER, ORIGINAL, ALIAS, CLEVERTAP_ID];

const traces = (text: string) => IDS.filter((id) => text.includes(id));

let dir: TempDir;
let fake: FakeCleverTap;
beforeEach(async () => {
  dir = await tempDir();
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
});
afterEach(async () => {
  await fake.close();
  await dir.remove();
});
afterAll(() => closeHttp());

describe('user ids and logs', () => {
  it('logs a refused request by its path, without the query string that may name a user', async () => {
    const t = await startTestRunner(testConfig(dir.path));
    try {
      expect((await t.admin('GET', `/events?user=${APP_USER}&limit=0`)).status).toBe(400);
      expect((await send('GET', `${t.runner.url}/nowhere?user=${APP_USER}`)).status).toBe(404);
    } finally {
      await t.runner.close();
    }
    const refused = t.logs.entries().filter((entry) => entry.msg === 'request refused');
    expect(refused.map(({ path, statusCode }) => ({ path, statusCode }))).toEqual([
      { path: '/admin/events', statusCode: 400 },
      { path: '/nowhere', statusCode: 404 },
    ]);
    expect(traces(t.logs.text())).toEqual([]);
  });

  it('keeps the ids a destination echoes in its error out of log lines and alerts, and in the error the operator sees', async () => {
    const echo = `record for identity ${APP_USER} (original ${ORIGINAL}, alias ${ALIAS}, objectId ${CLEVERTAP_ID}) refused`;
    fake.inject({ type: 'status', status: 400, body: JSON.stringify({ status: 'fail', error: echo }), contentType: 'application/json' });
    const alerts: string[] = [];
    const receiver: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        alerts.push(body);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const t = await startTestRunner(
      testConfig(dir.path, {
        destinations: [clevertapDestination(fake)],
        alerts: {
          targets: [
            { url: `${receiverUrl}/slack`, format: 'slack' },
            { url: `${receiverUrl}/json`, format: 'json' },
          ],
        },
      }),
    );
    try {
      const webhook = webhookBody('renewal', {
        id: 'privacy-1',
        app_user_id: APP_USER,
        original_app_user_id: ORIGINAL,
        aliases: [APP_USER, ALIAS],
        subscriber_attributes: { $clevertapId: { value: CLEVERTAP_ID, updated_at_ms: 1 } },
      });
      expect((await t.postWebhook(webhook)).status).toBe(200);
      const delivery = await waitFor('the delivery dead', async () => {
        const { json } = await t.admin('GET', '/events/privacy-1');
        return json.deliveries[0].state === 'dead' && json.deliveries[0];
      });
      // The operator, signed in, sees what the destination said (the event names the user anyway).
      expect(traces(delivery.lastError)).toEqual(IDS);
    } finally {
      // Stopping reports the dead delivery to the alert targets.
      await t.runner.close();
      await new Promise((resolve) => receiver.close(resolve));
    }
    const lines = t.logs.entries();
    expect(lines.filter((line) => line.msg === 'deliveries dead')).toEqual([
      expect.objectContaining({ lastError: expect.stringContaining('record for identity [user id] (original [user id]') }),
    ]);
    expect(lines.filter((line) => line.msg === 'request not fully delivered')).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('objectId [user id]) refused') }),
    ]);
    expect(traces(t.logs.text())).toEqual([]);
    expect(alerts).toHaveLength(2);
    for (const alert of alerts) {
      expect(alert).toContain('went dead');
      expect(alert).toContain('[user id]');
      expect(traces(alert)).toEqual([]);
    }
  });
});
