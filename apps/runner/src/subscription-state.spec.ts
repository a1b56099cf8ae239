import { webhookBody } from '@ferry/testkit';
import { closeHttp, startTestRunner, tempDir, testConfig, waitFor, type TempDir, type TestRunner } from './testing/harness';
import { createTestSchema, postgresFor } from './testing/postgres';
import { offerStatePlugin, startStateReceiver } from './testing/state-plugin';

const databaseUrl = postgresFor('subscription state on Postgres');
const T0 = 1_700_000_000_000;

/** SPEC §12: an event older than the newest state already sent to a destination goes without state. */
describe('the order of subscription states', () => {
  let dir: TempDir;
  let receiver: Awaited<ReturnType<typeof startStateReceiver>>;
  const runners: TestRunner[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    receiver = await startStateReceiver();
  });

  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.runner.close();
    await receiver.close();
    await closeHttp();
    await dir.remove();
  });

  const destination = () => ({ id: 'state', plugin: 'state-test', settings: { url: receiver.url } });
  const renewal = (id: string, user: string, timestampMs: number) =>
    webhookBody('renewal', { id, app_user_id: user, original_app_user_id: user, aliases: [user], event_timestamp_ms: timestampMs });
  const stateOf = (eventId: string) => receiver.items.find((item) => item.event === eventId)?.state;

  async function start(store?: { url: string }): Promise<TestRunner> {
    const runner = await startTestRunner(testConfig(dir.path, { destinations: [destination()], ...(store && { store }) }), {
      configure: offerStatePlugin,
    });
    runners.push(runner);
    return runner;
  }

  it('holds across a restart, and a replay of an older event goes without state', async () => {
    const first = await start();
    expect((await first.postWebhook(renewal('newer', 'user-1', T0))).status).toBe(200);
    await waitFor('the newer event sent', () => stateOf('newer') !== undefined);
    await first.runner.close();
    runners.splice(0);

    const second = await start();
    expect((await second.postWebhook(renewal('older', 'user-1', T0 - 60_000))).status).toBe(200);
    expect((await second.postWebhook(renewal('same-time-later', 'user-1', T0))).status).toBe(200);
    await waitFor('both events sent', () => stateOf('older') !== undefined && stateOf('same-time-later') !== undefined);
    expect([stateOf('newer'), stateOf('older'), stateOf('same-time-later')]).toEqual(['active', null, 'active']);

    receiver.items.length = 0;
    const replay = await second.admin('POST', '/replay', { eventIds: ['older'], states: ['delivered'] });
    expect(replay.status).toBeLessThan(300);
    await waitFor('the replay sent', () => stateOf('older') !== undefined);
    expect(stateOf('older')).toBeNull();
  });

  (databaseUrl ? it : it.skip)('holds for two runners on one Postgres receiving one user’s events at once', async () => {
    const schema = await createTestSchema(databaseUrl!, 'state');
    try {
      const [a, b] = [await start({ url: schema.url }), await start({ url: schema.url })];
      const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);
      // Each user's five events arrive shuffled, spread over both runners at once.
      const offsets = [3, 0, 4, 1, 2];
      await Promise.all(
        users.flatMap((user) =>
          offsets.map((offset, i) => [a, b][i % 2].postWebhook(renewal(`${user}-${offset}`, user, T0 + offset * 1_000))),
        ),
      );
      await waitFor('every event sent', () => receiver.items.length >= users.length * offsets.length);
      for (const user of users) expect(stateOf(`${user}-4`)).toBe('active'); // the newest always carries its state
      // The receiver may answer before a runner has written the outcome: replay selects delivered ones only.
      const sent = users.length * offsets.length;
      await waitFor(
        'every outcome stored',
        async () => (await a.admin('GET', `/deliveries?state=delivered&limit=${sent}`)).json.deliveries.length === sent,
      );

      // Whichever runner sends them again, older events go without state now.
      receiver.items.length = 0;
      const olderIds = users.flatMap((user) => [0, 1, 2, 3].map((offset) => `${user}-${offset}`));
      expect((await b.admin('POST', '/replay', { eventIds: olderIds, states: ['delivered'] })).status).toBeLessThan(300);
      await waitFor('the replays sent', () => receiver.items.length >= olderIds.length);
      expect(receiver.items.filter((item) => item.state !== null)).toEqual([]);
    } finally {
      for (const runner of runners.splice(0)) await runner.runner.close();
      await schema.drop();
    }
  });
});
