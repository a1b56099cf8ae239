import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type CleverTapRecordShape,
  type TempDir,
  type TestRunner,
} from './testing/harness';
import { postgresFor } from './testing/postgres';

const databaseUrl = postgresFor('runner on Postgres');

(databaseUrl ? describe : describe.skip)(
  databaseUrl ? 'runners sharing one Postgres' : 'runners sharing one Postgres (SKIPPED: DATABASE_URL is not set)',
  () => {
    const schema = `runner_${randomUUID().replace(/-/g, '')}`;
    let admin: pg.Client;
    let dir: TempDir;
    let fake: FakeCleverTap;
    const runners: TestRunner[] = [];

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      dir = await tempDir();
      fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
    });

    afterAll(async () => {
      for (const runner of runners) await runner.runner.close();
      await fake?.close();
      await closeHttp();
      await dir?.remove();
      await admin?.query(`drop schema if exists ${schema} cascade`);
      await admin?.end();
    });

    it('share the work: every event is delivered exactly once', async () => {
      const url = new URL(databaseUrl as string);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const config = testConfig(dir.path, { store: { url: url.toString() }, destinations: [clevertapDestination(fake)] });
      runners.push(await startTestRunner(config), await startTestRunner(config));

      const ids = Array.from({ length: 60 }, (_, i) => `pg-${i}`);
      const answers = await Promise.all(
        ids.map((id, i) =>
          runners[i % 2].postWebhook(webhookBody('renewal', { id, subscriber_attributes: { probe: { value: id, updated_at_ms: 1 } } })),
        ),
      );
      expect(answers.map((answer) => answer.json.status)).toEqual(Array(60).fill('stored'));
      // The same event at the other runner is a duplicate: the shared store decides.
      expect((await runners[1].postWebhook(webhookBody('renewal', { id: 'pg-0' }))).json.status).toBe('duplicate');

      await waitFor('every event at CleverTap', () => fake.records().length >= ids.length);
      await waitFor('every delivery recorded as delivered', async () => {
        const { deliveries } = (await runners[0].admin('GET', '/deliveries?state=delivered&limit=500')).json;
        return deliveries.length === ids.length;
      });
      const probes = fake.records().map((stored) => (stored.record as CleverTapRecordShape).evtData.probe);
      expect([...probes].sort()).toEqual([...ids].sort());
    });
  },
);
