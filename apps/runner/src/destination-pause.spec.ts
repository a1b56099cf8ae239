import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import { RUNNER_TOKENS, type DispatcherTuning } from './container';
import {
  SECRETS,
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  send,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type HttpAnswer,
  type TempDir,
  type TestRunner,
  runFerry,
  type CliRun,
} from './testing/harness';
import { createTestSchema, postgresFor, type TestSchema } from './testing/postgres';

const DESTINATION = 'clevertap-main';

let dir: TempDir;
let fake: FakeCleverTap;
const runners: TestRunner[] = [];
/** Every answer seen, searched for secrets at the end. */
const answers: HttpAnswer[] = [];

beforeAll(async () => {
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
});

beforeEach(async () => {
  dir = await tempDir();
  fake.reset();
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.runner.close();
  await dir.remove();
});

afterAll(async () => {
  await fake?.close();
  await closeHttp();
  const seen = answers.map((answer) => answer.text).join('\n');
  for (const secret of SECRETS) expect(seen).not.toContain(secret);
});

async function start(config = testConfig(dir.path, { destinations: [clevertapDestination(fake)] }), tuning?: DispatcherTuning) {
  const runner = await startTestRunner(config, {
    configure: tuning ? (services) => services.replaceValue(RUNNER_TOKENS.DispatcherTuning, tuning) : undefined,
  });
  runners.push(runner);
  return runner;
}

async function adminOf(runner: TestRunner, method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<HttpAnswer> {
  const answer = await runner.admin(method, pathAndQuery, body);
  answers.push(answer);
  return answer;
}

async function destinationOf(runner: TestRunner) {
  const { destinations } = (await adminOf(runner, 'GET', '/destinations')).json;
  return destinations.find((destination: { id: string }) => destination.id === DESTINATION);
}

async function deliveryStates(runner: TestRunner): Promise<string[]> {
  const { deliveries } = (await adminOf(runner, 'GET', '/deliveries?limit=500')).json;
  return deliveries.map((delivery: { state: string }) => delivery.state);
}

const allIn = (runner: TestRunner, state: string, count: number) => async () => {
  const states = await deliveryStates(runner);
  return states.length === count && states.every((candidate) => candidate === state);
};

async function ferry(...argv: string[]): Promise<CliRun> {
  const run = await runFerry(dir.path, ...argv);
  answers.push({ status: run.code, headers: {}, text: run.stdout + run.stderr, json: undefined });
  return run;
}

describe('operator pause and resume (SQLite)', () => {
  it('pauses for good (deliveries wait, none die), shows why everywhere, survives a restart, and resumes', async () => {
    const runner = await start();
    const paused = await adminOf(runner, 'POST', `/destinations/${DESTINATION}/pause`, { reason: 'CleverTap maintenance until 14:00' });
    expect(paused.status).toBe(200);
    expect(paused.json.destination).toMatchObject({
      id: DESTINATION,
      state: 'paused',
      pausedBy: 'operator',
      reason: 'CleverTap maintenance until 14:00',
      since: expect.any(Number),
    });
    // Idempotent: the first pause stands.
    const again = await adminOf(runner, 'POST', `/destinations/${DESTINATION}/pause`);
    expect(again.status).toBe(200);
    expect(again.json.destination).toEqual(paused.json.destination);

    for (const name of ['initial_purchase', 'renewal'] as const) expect((await runner.postWebhook(webhookBody(name))).status).toBe(200);
    await waitFor('both deliveries to wait as paused', allIn(runner, 'paused', 2));
    expect(await destinationOf(runner)).toMatchObject({
      state: 'paused',
      pausedBy: 'operator',
      deliveries: expect.objectContaining({ paused: 2 }),
    });
    const metrics = (await send('GET', `${runner.runner.url}/metrics`)).text;
    expect(metrics).toContain(`ferry_destination_paused{destination="${DESTINATION}",cause="operator"} 1`);
    expect(metrics).toContain(`ferry_destination_paused{destination="${DESTINATION}",cause="credentials"} 0`);

    // A restart keeps the pause: the store holds it.
    await runners.pop()!.runner.close();
    const restarted = await start();
    expect(await destinationOf(restarted)).toMatchObject({
      state: 'paused',
      pausedBy: 'operator',
      reason: 'CleverTap maintenance until 14:00',
    });
    expect(await deliveryStates(restarted)).toEqual(['paused', 'paused']);
    expect(fake.records()).toHaveLength(0);

    const resumed = await adminOf(restarted, 'POST', `/destinations/${DESTINATION}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.json.destination).toMatchObject({ state: 'running' });
    expect(resumed.json.destination.pausedBy).toBeUndefined();
    expect((await adminOf(restarted, 'POST', `/destinations/${DESTINATION}/resume`)).json.destination).toMatchObject({ state: 'running' });
    await waitFor('both deliveries delivered after the resume', allIn(restarted, 'delivered', 2));
    expect(fake.records()).toHaveLength(2);
    expect((await send('GET', `${restarted.runner.url}/metrics`)).text).toContain(
      `ferry_destination_paused{destination="${DESTINATION}",cause="operator"} 0`,
    );
  });

  it('answers 404 for an unknown destination and 400 naming the field for a bad body', async () => {
    const runner = await start();
    for (const action of ['pause', 'resume']) {
      const unknown = await adminOf(runner, 'POST', `/destinations/nope/${action}`);
      expect(unknown.status).toBe(404);
      expect(unknown.json.error).toMatch(/no destination with id "nope"/);
    }
    const cases: [unknown, string][] = [
      [{ reason: 'x'.repeat(501) }, 'reason'],
      [{ reason: 42 }, 'reason'],
      [{ reason: '   ' }, 'reason'],
      [{ why: 'typo' }, 'why'],
      [['reason'], '(root)'],
    ];
    for (const [body, field] of cases) {
      const answer = await adminOf(runner, 'POST', `/destinations/${DESTINATION}/pause`, body);
      expect(answer.status).toBe(400);
      expect(answer.json.issues).toEqual([expect.objectContaining({ path: field })]);
    }
    const notJson = await send('POST', `${runner.runner.url}/admin/destinations/${DESTINATION}/pause`, '{', {
      authorization: `Bearer ${runner.runner.config.server.adminToken}`,
      'content-type': 'application/json',
    });
    expect(notJson.status).toBe(400);
    expect((await destinationOf(runner)).state).toBe('running');
  });

  it('refuses to resume a destination that lacks configuration (409, naming what is missing)', async () => {
    const runner = await start(testConfig(dir.path, { destinations: [clevertapDestination(fake, { passcode: '' })] }));
    const answer = await adminOf(runner, 'POST', `/destinations/${DESTINATION}/resume`);
    expect(answer.status).toBe(409);
    expect(answer.json.error).toMatch(/passcode/);
    expect(await destinationOf(runner)).toMatchObject({ state: 'paused', pausedBy: 'configuration' });
    expect((await send('GET', `${runner.runner.url}/metrics`)).text).toContain(
      `ferry_destination_paused{destination="${DESTINATION}",cause="configuration"} 1`,
    );
  });

  it("ends a credentials pause on the operator's resume; the next refusal pauses it again", async () => {
    // A probe interval far beyond the test: only the operator ends the pause here.
    const runner = await start(undefined, { pollMs: 50, pausedProbeMs: 3_600_000 });
    fake.inject({ type: 'status', status: 401 });
    expect((await runner.postWebhook(webhookBody('initial_purchase'))).status).toBe(200);
    const paused = await waitFor('the credentials pause', async () => {
      const destination = await destinationOf(runner);
      return destination.pausedBy === 'credentials' && destination;
    });
    expect(paused).toMatchObject({ state: 'paused', reason: expect.stringMatching(/401/) });

    const resumed = await adminOf(runner, 'POST', `/destinations/${DESTINATION}/resume`);
    expect(resumed.json.destination).toMatchObject({ state: 'running' });
    await waitFor('the delivery after the resume', allIn(runner, 'delivered', 1));

    fake.inject({ type: 'status', status: 403 });
    expect((await runner.postWebhook(webhookBody('renewal'))).status).toBe(200);
    await waitFor('the next refusal to pause it again', async () => (await destinationOf(runner)).pausedBy === 'credentials');
  });

  it('pauses and resumes from the command line, and a running runner follows within a poll', async () => {
    const config = testConfig(dir.path, { destinations: [clevertapDestination(fake)] });
    const file = path.join(dir.path, 'ferry.config.json');
    await writeFile(file, JSON.stringify(config));
    const runner = await start(config);

    const paused = await ferry('destinations', 'pause', '--config', file, '--reason', 'migrating the account', DESTINATION);
    expect(paused).toMatchObject({ code: 0, stderr: '' });
    expect(paused.stdout).toMatch(new RegExp(`^${DESTINATION}: paused by operator since .+: migrating the account\\n$`));
    await waitFor('the runner to follow the pause', async () => (await destinationOf(runner)).pausedBy === 'operator');
    expect((await runner.postWebhook(webhookBody('initial_purchase'))).status).toBe(200);
    await waitFor('the delivery to wait as paused', allIn(runner, 'paused', 1));

    const listed = await ferry('destinations', '--config', file);
    expect(listed.stdout.split('\n')[1]).toMatch(new RegExp(`^${DESTINATION}\\s+clevertap\\s+paused \\(operator\\)\\s+0\\s+0\\s+1`));
    const json = JSON.parse((await ferry('destinations', '--config', file, '--json')).stdout);
    expect(json.destinations[0]).toMatchObject({ state: 'paused', pausedBy: 'operator', reason: 'migrating the account' });

    const resumed = await ferry('destinations', 'resume', '--config', file, '--json', DESTINATION);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).destination).toMatchObject({ id: DESTINATION, state: 'running' });
    await waitFor('the delivery after the resume', allIn(runner, 'delivered', 1));

    expect(await ferry('destinations', 'pause', '--config', file, 'nope')).toMatchObject({
      code: 1,
      stderr: 'ferry: no destination with id "nope"\n',
    });
    expect((await ferry('destinations', 'pause', '--config', file, '--reason', 'x'.repeat(501), DESTINATION)).code).toBe(2);
    expect((await ferry('destinations', 'resume', '--config', file)).stderr).toMatch(/needs ID/);
  });
});

const databaseUrl = postgresFor('destination pauses on Postgres');

(databaseUrl ? describe : describe.skip)(
  databaseUrl
    ? 'destination pauses shared by two runners on Postgres'
    : 'destination pauses on Postgres (SKIPPED: DATABASE_URL is not set)',
  () => {
    let schema: TestSchema;

    beforeEach(async () => {
      schema = await createTestSchema(databaseUrl!, 'pause');
    });

    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.runner.close();
      await schema.drop();
    });

    function sharedConfig() {
      return testConfig(dir.path, { store: { url: schema.url }, destinations: [clevertapDestination(fake)] });
    }

    it("holds an operator's pause on the other runner, and a resume on that one resumes both", async () => {
      const [a, b] = [await start(sharedConfig()), await start(sharedConfig())];
      expect((await adminOf(a, 'POST', `/destinations/${DESTINATION}/pause`, { reason: 'quiet hours' })).status).toBe(200);
      await waitFor('runner B to see the pause', async () => (await destinationOf(b)).pausedBy === 'operator');
      expect(await destinationOf(b)).toMatchObject({ state: 'paused', reason: 'quiet hours' });

      for (let i = 0; i < 4; i++)
        expect((await [a, b][i % 2].postWebhook(webhookBody('renewal', { id: `pg-pause-${i}` }))).status).toBe(200);
      await waitFor('every delivery to wait as paused', allIn(a, 'paused', 4));
      expect(fake.records()).toHaveLength(0);

      expect((await adminOf(b, 'POST', `/destinations/${DESTINATION}/resume`)).json.destination.state).toBe('running');
      await waitFor('runner A to see the resume', async () => (await destinationOf(a)).state === 'running');
      await waitFor('every delivery delivered', allIn(a, 'delivered', 4));
      expect(fake.records()).toHaveLength(4);
    });

    it('pauses both on a refusal seen by one; one accepted probe resumes both; nothing dies meanwhile', async () => {
      // A never probes within the test, B every 200 ms: A's resume can only come from B's probe, through the store.
      const a = await start(sharedConfig(), { pollMs: 50, pausedProbeMs: 3_600_000 });
      const b = await start(sharedConfig(), { pollMs: 50, pausedProbeMs: 200 });
      // Refused until reset: the first refusal pauses, every probe meanwhile is refused too.
      fake.inject(...Array.from({ length: 10_000 }, () => ({ type: 'status', status: 401 }) as const));
      for (let i = 0; i < 3; i++) expect((await a.postWebhook(webhookBody('renewal', { id: `pg-401-${i}` }))).status).toBe(200);

      for (const runner of [a, b]) {
        await waitFor('both runners to pause', async () => (await destinationOf(runner)).pausedBy === 'credentials');
      }
      await waitFor('every delivery to wait as paused', allIn(a, 'paused', 3));
      await waitFor(
        'runner B to probe (and be refused) twice',
        () => fake.requests().filter((request) => request.fault !== undefined).length >= 3,
      );
      // B's probe holds one delivery in flight for a moment; between probes all wait paused, and none died.
      expect((await deliveryStates(b)).filter((state) => state !== 'paused' && state !== 'in_flight')).toEqual([]);
      await waitFor('every delivery paused between probes', allIn(b, 'paused', 3));
      expect((await send('GET', `${a.runner.url}/metrics`)).text).toContain(
        `ferry_destination_paused{destination="${DESTINATION}",cause="credentials"} 1`,
      );

      fake.reset(); // the credentials work again
      await waitFor('every delivery delivered', allIn(a, 'delivered', 3));
      for (const runner of [a, b]) await waitFor('both runners to resume', async () => (await destinationOf(runner)).state === 'running');
    });
  },
);
