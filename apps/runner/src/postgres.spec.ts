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

    it('answers 400, never 503 or 500, to what Postgres cannot keep or compare, naming the field', async () => {
      const url = new URL(databaseUrl as string);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const runner = await startTestRunner(testConfig(dir.path, { store: { url: url.toString() } }));
      runners.push(runner);
      // Three-byte characters that compress badly: together they overflow a btree entry (2,704 bytes).
      const wide = (seed: number) =>
        Array.from({ length: 512 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919 + seed) % 20000))).join('');
      const cases: [Record<string, unknown>, string][] = [
        [{ id: 'x'.repeat(3_000) }, 'event.id'],
        [{ app_user_id: 'u'.repeat(3_000) }, 'event.app_user_id'],
        [{ event_timestamp_ms: 1740823202000.5 }, 'event.event_timestamp_ms'],
        [{ event_timestamp_ms: 1e19 }, 'event.event_timestamp_ms'],
        [{ event_timestamp_ms: 1e21 }, 'event.event_timestamp_ms'],
        [{ id: wide(1), app_user_id: wide(2) }, 'event'],
      ];
      for (const [fields, path] of cases) {
        const answer = await runner.postWebhook(webhookBody('renewal', { id: randomUUID(), ...fields }));
        expect(answer.status).toBe(400);
        expect(answer.json.issues).toEqual([{ path, message: expect.any(String) }]);
      }
      const farFuture = await runner.admin('GET', '/events?until=99999999999999999999');
      expect(farFuture.status).toBe(400);
      expect(farFuture.json.issues).toEqual([expect.objectContaining({ path: 'until' })]);
    });
  },
);
