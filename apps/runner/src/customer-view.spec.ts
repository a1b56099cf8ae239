import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  SECRETS,
  clevertapDestination,
  closeHttp,
  runFerry,
  settled,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';
import { createTestSchema, postgresFor, type TestSchema } from './testing/postgres';
import { post, stateWebhook, T0 } from './testing/state-order';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The operator's second-level reads (SPEC §17) over a real runner and the fake CleverTap: the events listing's
 * search and per-row delivery states, the count a replay would make, and the customer view.
 */

const databaseUrl = postgresFor('the customer view on Postgres');
const STORES: readonly ('sqlite' | 'postgres')[] = databaseUrl ? ['sqlite', 'postgres'] : ['sqlite'];

describe.each(STORES)('on %s', (store) => {
  let dir: TempDir;
  let fake: FakeCleverTap;
  let schema: TestSchema | undefined;
  let runner: TestRunner | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, discardedEvents: ['rc_renewal_event'] });
    schema = store === 'postgres' ? await createTestSchema(databaseUrl!, 'customer_view') : undefined;
  });

  afterEach(async () => {
    await runner?.runner.close();
    runner = undefined;
    await schema?.drop();
    await fake.close();
    await dir.remove();
  });

  afterAll(() => closeHttp());

  async function start(destinations: NonNullable<Parameters<typeof testConfig>[1]>['destinations']): Promise<TestRunner> {
    const config = testConfig(dir.path, { destinations, ...(schema && { store: { url: schema.url } }) });
    runner = await startTestRunner(config);
    return runner;
  }

  const ids = (answer: { json: { events: { id: string }[] } }) => answer.json.events.map((event) => event.id);

  describe('the events listing', () => {
    it('finds events by user id prefix, product and kind, each row with its deliveries’ states, the deliveries listing agreeing', async () => {
      // ct-renewals takes renewals only: every other event is skipped there, a row with two states.
      const t = await start([
        { ...clevertapDestination(fake), id: 'ct-renewals', filter: { kinds: ['renewal'] } },
        { ...clevertapDestination(fake), id: 'ct-all' },
      ]);
      const users = ['alice', 'al_ce', 'al%ce', 'Alice', 'ålice', 'bob'];
      for (const [i, user] of users.entries()) {
        const name = i % 2 === 0 ? 'initial_purchase' : 'renewal';
        await post(t, webhookBody(name, { id: `e${i}`, app_user_id: user, product_id: i < 3 ? 'pro.monthly' : 'pro.yearly' }));
      }
      await waitFor('every delivery final', () => settled(t));

      const list = (query: string) => t.admin('GET', `/events?${query}`);
      expect(ids(await list('userPrefix=al'))).toEqual(['e2', 'e1', 'e0']);
      expect(ids(await list(`userPrefix=${encodeURIComponent('al%')}`))).toEqual(['e2']);
      expect(ids(await list('userPrefix=al_'))).toEqual(['e1']);
      expect(ids(await list('userPrefix=A'))).toEqual(['e3']);
      expect(ids(await list(`userPrefix=${encodeURIComponent('å')}`))).toEqual(['e4']);
      expect(ids(await list('product=pro.yearly'))).toEqual(['e5', 'e4', 'e3']);
      expect(ids(await list('product=pro'))).toEqual([]);
      expect(ids(await list('kind=renewal&userPrefix=al'))).toEqual(['e1']);
      expect(ids(await list('kind=renewal&product=pro.yearly&state=dead'))).toEqual(['e5', 'e3']);
      const deliveries = await t.admin('GET', '/deliveries?userPrefix=al&destination=ct-all');
      expect(deliveries.json.deliveries.map((d: { eventId: string }) => d.eventId).sort()).toEqual(['e0', 'e1', 'e2']);

      // Each row: its deliveries by destination id, read with the page.
      const [e5, e4] = (await list('limit=2')).json.events;
      expect(e5).toMatchObject({
        id: 'e5',
        userId: 'bob',
        productId: 'pro.yearly',
        kind: 'renewal',
        deliveries: [
          { destinationId: 'ct-all', state: 'dead' },
          { destinationId: 'ct-renewals', state: 'dead' },
        ],
      });
      expect(e4.deliveries).toEqual([
        { destinationId: 'ct-all', state: 'delivered' },
        { destinationId: 'ct-renewals', state: 'skipped' },
      ]);

      // Refusals name the field.
      for (const [query, field] of [
        ['user=alice&userPrefix=al', 'userPrefix'],
        ['kind=refund', 'kind'],
        ['userPrefix=', 'userPrefix'],
        [`userPrefix=${'x'.repeat(513)}`, 'userPrefix'],
        ['product=', 'product'],
      ] as const) {
        const refused = await list(query);
        expect({ query, status: refused.status }).toEqual({ query, status: 400 });
        expect(refused.json.issues.map((issue: { path: string }) => issue.path)).toContain(field);
      }
    });
  });

  describe('the replay count', () => {
    it('answers what the same replay then makes pending, changing nothing; bad bodies are a 400 naming the field', async () => {
      const t = await start([clevertapDestination(fake)]);
      for (let i = 0; i < 4; i++) await post(t, webhookBody(i % 2 === 0 ? 'renewal' : 'initial_purchase', { id: `r${i}` }));
      await waitFor('every delivery final', () => settled(t));
      const window = { from: 0, to: Date.now() + 60_000 };

      const count = async (body: object) => {
        const answer = await t.admin('POST', '/replay/count', body);
        expect(answer.status).toBe(200);
        return answer.json.count as number;
      };
      expect(await count(window)).toBe(2); // the two dead renewals
      expect(await count({ ...window, states: ['delivered'] })).toBe(2);
      expect(await count({ eventIds: ['r0', 'r1', 'unknown'], states: ['dead', 'delivered'] })).toBe(2);
      expect(await count({ ...window, destination: 'elsewhere' })).toBe(0);
      expect((await t.admin('GET', '/deliveries?state=dead')).json.deliveries).toHaveLength(2);

      const replay = await t.admin('POST', '/replay', window);
      const job = await waitFor('the replay done', async () => {
        const { json } = await t.admin('GET', `/replays/${replay.json.job.id}`);
        return json.job.state === 'done' && json.job;
      });
      expect(job.replayed).toBe(2);

      for (const [body, field] of [
        [{}, '(root)'],
        [{ from: 5 }, 'to'],
        [{ ...window, states: ['pending'] }, 'states[0]'],
        [{ eventIds: [] }, 'eventIds'],
        [{ ...window, extra: true }, 'extra'],
      ] as const) {
        const refused = await t.admin('POST', '/replay/count', body);
        expect({ body, status: refused.status }).toEqual({ body, status: 400 });
        expect(refused.json.issues.map((issue: { path: string }) => issue.path)).toContain(field);
      }
    });
  });

  describe('the customer view', () => {
    it('shows a customer’s events in time order with the state after each, and what the ordering guard let through', async () => {
      const t = await start([clevertapDestination(fake, { profileSync: true }), { ...clevertapDestination(fake), id: 'ct-events' }]);
      const deliver = async (body: string) => {
        await post(t, body);
        await waitFor('every delivery final', () => settled(t));
      };
      await deliver(stateWebhook('initial_purchase', { id: 'bought', user: 'cust-1', timestampMs: T0 }));
      await deliver(stateWebhook('cancellation', { id: 'cancelled', user: 'cust-1', timestampMs: T0 + 2_000 }));
      // Out of order: older than the cancellation CleverTap holds, so it goes as a plain event.
      await deliver(stateWebhook('initial_purchase', { id: 'late', user: 'cust-1', timestampMs: T0 + 1_000 }));
      // Another app user id naming cust-1 as an alias: its own CleverTap profile.
      await deliver(stateWebhook('uncancellation', { id: 'aliased', user: 'anon-9', aliases: ['cust-1'], timestampMs: T0 + 3_000 }));
      // A transfer away from cust-1: no app user id, no state of its own.
      await deliver(
        webhookBody('transfer', { id: 'moved', transferred_from: ['cust-1'], transferred_to: ['cust-2'], event_timestamp_ms: T0 + 4_000 }),
      );
      await deliver(stateWebhook('renewal', { id: 'stranger', user: 'someone-else', timestampMs: T0 + 500 }));
      expect(fake.profile({ identity: 'cust-1' })?.rc_subscription_status).toBe('cancelled');

      const answer = await t.admin('GET', '/users/cust-1');
      expect(answer.status).toBe(200);
      const view = answer.json;
      expect(view).toMatchObject({ userId: 'cust-1', truncated: false });
      expect(
        view.events.map((e: { id: string; stateAfter: string | null; changesState: boolean }) => [e.id, e.stateAfter, e.changesState]),
      ).toEqual([
        ['bought', 'active', true],
        ['late', 'active', true],
        ['cancelled', 'cancelled', true],
        ['aliased', 'active', true],
        ['moved', 'active', false],
      ]);
      const bought = view.events[0];
      expect(bought).toMatchObject({ userId: 'cust-1', productId: 'com.example.pro.monthly', kind: 'initial_purchase' });
      expect(bought.deliveries).toEqual([
        {
          id: expect.any(String),
          destinationId: 'clevertap-main',
          state: 'delivered',
          attempts: 1,
          lastStatus: 200,
          lastError: null,
          deliveredAtMs: expect.any(Number),
          updatedAtMs: expect.any(Number),
        },
        expect.objectContaining({ destinationId: 'ct-events', state: 'delivered' }),
      ]);
      expect(view.events[4].deliveries.map((d: { state: string }) => d.state)).toEqual(['skipped', 'skipped']);

      expect(view.destinations).toEqual([
        {
          destinationId: 'clevertap-main',
          plugin: 'clevertap',
          sendsState: true,
          sent: [
            { profile: 'production: identity=anon-9', state: 'active', eventId: 'aliased', timestampMs: T0 + 3_000, claimInFlight: false },
            {
              profile: 'production: identity=cust-1',
              state: 'cancelled',
              eventId: 'cancelled',
              timestampMs: T0 + 2_000,
              claimInFlight: false,
            },
          ],
        },
        { destinationId: 'ct-events', plugin: 'clevertap', sendsState: false, sent: [] },
      ]);
      // By an alias or a transfer party, the same events are the customer's.
      expect(ids(await t.admin('GET', '/users/anon-9'))).toEqual(['aliased']);
      expect(ids(await t.admin('GET', '/users/cust-2'))).toEqual(['moved']);
      expect(JSON.stringify(view)).not.toContain(PASSCODE);
      for (const secret of SECRETS) expect(JSON.stringify(view)).not.toContain(secret);

      expect(await t.admin('GET', '/users/nobody')).toMatchObject({ status: 404 });
      const tooLong = await t.admin('GET', `/users/${'x'.repeat(513)}`);
      expect(tooLong.status).toBe(400);
      expect(tooLong.json.issues.map((issue: { path: string }) => issue.path)).toEqual(['id']);

      // The command line prints the same as a timeline, from the store the runner uses.
      const file = path.join(dir.path, 'ferry.config.json');
      await writeFile(
        file,
        JSON.stringify(
          testConfig(dir.path, {
            destinations: [clevertapDestination(fake, { profileSync: true })],
            ...(schema && { store: { url: schema.url } }),
          }),
        ),
      );
      const printed = await runFerry(dir.path, 'user', '--config', file, 'cust-1');
      expect(printed).toMatchObject({ code: 0, stderr: '' });
      expect(printed.stdout).toContain('user cust-1: 5 event(s)');
      expect(printed.stdout).toMatch(/cancelled\s+clevertap-main:delivered ct-events:delivered/);
      expect(printed.stdout).toContain('production: identity=cust-1: cancelled (event cancelled)');
      const window = { from: 0, to: Date.now() + 60_000 };
      // The stranger's dead renewal and the skipped transfer, at both destinations.
      expect((await t.admin('POST', '/replay/count', window)).json).toEqual({ count: 4 });
      const dryRun = await runFerry(dir.path, 'replay', '--config', file, '--dry-run', '--from', '0', '--to', String(window.to));
      expect(dryRun).toMatchObject({ code: 0, stdout: 'would replay 4 deliveries\n' });
      expect((await t.admin('POST', '/replay/count', window)).json).toEqual({ count: 4 });
    });

    it('marks the view truncated past the 500 newest events, keeping the newest', async () => {
      // No destination: nothing to deliver, the events alone.
      const stored = await start([]);
      for (let i = 0; i < 502; i++)
        await post(stored, stateWebhook('renewal', { id: `many-${i}`, user: 'busy', timestampMs: T0 + i * 1_000 }));
      const view = (await stored.admin('GET', '/users/busy')).json;
      expect(view.truncated).toBe(true);
      expect(view.events).toHaveLength(500);
      expect(view.events[0].id).toBe('many-2');
      expect(view.events[499].id).toBe('many-501');
    });
  });
});
