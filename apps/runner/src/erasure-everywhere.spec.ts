import {
  startFakeAmplitude,
  startFakeBraze,
  startFakeCleverTap,
  webhookBody,
  type FakeAmplitude,
  type FakeBraze,
  type FakeCleverTap,
} from '@ferry/testkit';
import { TOKENS } from '@ferry/core';
import type { ConfigInput } from './config';
import { RUNNER_TOKENS } from './container';
import {
  closeHttp,
  settled,
  standingClock,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  type TestRunner,
} from './testing/harness';

// SPEC §15 with the real plugins against the fakes over real HTTP: one privacy request reaches CleverTap, Amplitude
// and Braze with every id Ferry sent them, through two 500s and a restart; and a connection check tells a wrong
// passcode from a right one without showing either.

const CT_ACCOUNT = 'TEST-ERASE-0001';
const CT_PASSCODE = 'ct-passcode-erase-5b7d19';
const CT_WRONG_PASSCODE = 'ct-passcode-wrong-8e2a46';
const AMPLITUDE_KEY = 'amplitude-api-key-erase-41c7';
const AMPLITUDE_SECRET = 'amplitude-secret-key-erase-93fd';
const BRAZE_KEY = 'braze-rest-key-erase-2d6e80';
const SECRETS = [CT_PASSCODE, CT_WRONG_PASSCODE, AMPLITUDE_KEY, AMPLITUDE_SECRET, BRAZE_KEY];

/** Every id of the customer: app user id, two aliases, `$clevertapId`, `$amplitudeUserId` and a Braze alias. */
const APP_USER_IDS = ['carol-0001', 'carol-alias-1', 'carol-alias-2'];
const CLEVERTAP_ID = 'ct-guid-carol-77';
const AMPLITUDE_USER_ID = 'amp-carol-31';
const BRAZE_ALIAS = { alias_name: 'carol-crm-9', alias_label: 'crm_id' };
const RAW_IDS = [...APP_USER_IDS, CLEVERTAP_ID, AMPLITUDE_USER_ID, BRAZE_ALIAS.alias_name];

let dir: TempDir;
let clevertap: FakeCleverTap;
let amplitude: FakeAmplitude;
let braze: FakeBraze;
const runners: TestRunner[] = [];

beforeEach(async () => {
  dir = await tempDir();
  clevertap = await startFakeCleverTap({ accounts: { [CT_ACCOUNT]: CT_PASSCODE } });
  amplitude = await startFakeAmplitude({ projects: { production: AMPLITUDE_KEY }, secretKeys: { production: AMPLITUDE_SECRET } });
  braze = await startFakeBraze({ workspaces: { production: BRAZE_KEY } });
});
afterEach(async () => {
  for (const t of runners.splice(0)) await t.runner.close();
  await Promise.all([clevertap.close(), amplitude.close(), braze.close()]);
  await dir.remove();
});
afterAll(() => closeHttp());

function config(extra: NonNullable<ConfigInput['destinations']> = []): ConfigInput {
  return testConfig(dir.path, {
    destinations: [
      {
        id: 'clevertap',
        plugin: 'clevertap',
        timeoutMs: 5_000,
        settings: { accountId: CT_ACCOUNT, passcode: CT_PASSCODE, endpoint: clevertap.url },
      },
      {
        id: 'amplitude',
        plugin: 'amplitude',
        timeoutMs: 5_000,
        settings: { apiKey: AMPLITUDE_KEY, secretKey: AMPLITUDE_SECRET, endpoint: amplitude.url },
      },
      { id: 'braze', plugin: 'braze', timeoutMs: 5_000, settings: { restEndpoint: braze.url, apiKey: BRAZE_KEY } },
      ...extra,
    ],
    delivery: { baseDelayMs: 1_000, maxDelayMs: 1_000 },
  });
}

async function start(input: ConfigInput, clock: ReturnType<typeof standingClock>): Promise<TestRunner> {
  const t = await startTestRunner(input, {
    configure: (services) => {
      services.replaceValue(RUNNER_TOKENS.ErasurePollMs, 10);
      services.replaceValue(TOKENS.Clock, clock);
    },
  });
  runners.push(t);
  return t;
}

/** The customer's webhooks: the first names both aliases and every destination identity, the second comes through an alias. */
async function postCustomer(t: TestRunner): Promise<void> {
  const bodies = [
    webhookBody('initial_purchase', {
      id: 'carol-1',
      app_user_id: 'carol-0001',
      original_app_user_id: 'carol-0001',
      aliases: APP_USER_IDS,
      subscriber_attributes: {
        $clevertapId: { value: CLEVERTAP_ID, updated_at_ms: 1 },
        $amplitudeUserId: { value: AMPLITUDE_USER_ID, updated_at_ms: 1 },
      },
    }),
    webhookBody('renewal', {
      id: 'carol-2',
      app_user_id: 'carol-alias-2',
      original_app_user_id: 'carol-0001',
      aliases: ['carol-alias-2'],
      subscriber_attributes: {
        $brazeAliasName: { value: BRAZE_ALIAS.alias_name, updated_at_ms: 1 },
        $brazeAliasLabel: { value: BRAZE_ALIAS.alias_label, updated_at_ms: 1 },
      },
    }),
  ];
  for (const body of bodies) expect((await t.postWebhook(body)).status).toBe(200);
  await waitFor('the webhooks delivered', () => settled(t));
}

const jobsIn = async (t: TestRunner, state: string) => (await t.admin('GET', `/erasures?state=${state}`)).json.jobs as unknown[];

it('erases a customer at CleverTap, Amplitude and Braze through two 500s and a restart, leaving no raw id in the admin API', async () => {
  const clock = standingClock();
  let t = await start(config(), clock);
  await postCustomer(t);
  // The first delete request at CleverTap and at Braze fails: two 500s.
  clevertap.inject({ type: 'status', status: 500 });
  braze.inject({ type: 'status', status: 500 });

  const answer = await t.admin('POST', '/erase', { appUserId: 'carol-0001', destinations: true });
  expect(answer.status).toBe(200);
  expect(answer.json.erased).toBe(2);
  expect(answer.json.remote.map(({ destination, state }: { destination: string; state: string }) => [destination, state])).toEqual([
    ['clevertap', 'pending'],
    ['amplitude', 'pending'],
    ['braze', 'pending'],
  ]);

  await waitFor('Amplitude done, the other two waiting for their retry after a 500', async () => {
    const pending = (await jobsIn(t, 'pending')) as { attempts: number }[];
    return (await jobsIn(t, 'done')).length === 1 && pending.length === 2 && pending.every((job) => job.attempts === 1);
  });
  const waiting = await t.admin('GET', '/erasures');
  for (const id of RAW_IDS) expect(waiting.text).not.toContain(id);

  // A restart while two jobs wait: the next runner takes them up at the request that failed.
  await t.runner.close();
  runners.splice(0);
  clock.advance(5_000);
  t = await start(config(), clock);
  await waitFor('every erasure done', async () => (await jobsIn(t, 'done')).length === 3);
  // `attempts` counts the answers that were not done: the two 500s.
  const done = (await jobsIn(t, 'done')) as { destination: string; attempts: number }[];
  expect(Object.fromEntries(done.map((job) => [job.destination, job.attempts]))).toEqual({ clevertap: 1, amplitude: 0, braze: 1 });

  expect(clevertap.deletions().map(({ identity, guid }) => ({ identity, guid }))).toEqual([
    { identity: APP_USER_IDS, guid: [] },
    { identity: [], guid: [CLEVERTAP_ID] },
  ]);
  expect(amplitude.deletions().flatMap((deletion) => deletion.userIds)).toEqual(
    expect.arrayContaining([...APP_USER_IDS, AMPLITUDE_USER_ID]),
  );
  expect(braze.deletions().map(({ externalIds, userAliases }) => ({ externalIds, userAliases }))).toEqual([
    { externalIds: APP_USER_IDS, userAliases: [] },
    { externalIds: [], userAliases: [BRAZE_ALIAS] },
  ]);

  // Afterwards the admin API knows only counts: no event, no id, no secret.
  const after = [await t.admin('GET', '/erasures'), await t.admin('GET', '/events'), await t.admin('GET', '/destinations')];
  expect(after[1].json.events).toEqual([]);
  for (const text of after.map((response) => response.text))
    for (const value of [...RAW_IDS, ...SECRETS]) expect(text).not.toContain(value);
  for (const value of [...RAW_IDS, ...SECRETS]) expect(t.logs.text()).not.toContain(value);
});

it('checks each destination: a wrong passcode is refused with a reason and no secret, an unset check key cannot be told', async () => {
  const t = await start(
    config([
      {
        id: 'clevertap-wrong',
        plugin: 'clevertap',
        timeoutMs: 5_000,
        settings: { accountId: CT_ACCOUNT, passcode: CT_WRONG_PASSCODE, endpoint: clevertap.url },
      },
      { id: 'amplitude-no-secret', plugin: 'amplitude', timeoutMs: 5_000, settings: { apiKey: AMPLITUDE_KEY, endpoint: amplitude.url } },
    ]),
    standingClock(),
  );
  const check = async (id: string) => {
    const answer = await t.admin('GET', `/destinations/${id}/check`);
    expect(answer.status).toBe(200);
    for (const secret of SECRETS) expect(answer.text).not.toContain(secret);
    return answer.json;
  };
  expect(await check('clevertap')).toMatchObject({ ok: true, status: 200 });
  expect(await check('amplitude')).toMatchObject({ ok: true, status: 200 });
  expect(await check('braze')).toMatchObject({ ok: true, status: 200 });
  const wrong = await check('clevertap-wrong');
  expect(wrong).toMatchObject({ ok: false, status: 401 });
  expect(wrong.reason).toMatch(/credentials/i);
  expect(await check('amplitude-no-secret')).toEqual({ ok: null, status: null, reason: 'cannot check: settings.secretKey is not set' });
  // A check changes nothing at the destination.
  expect(clevertap.deletions()).toEqual([]);
  expect(clevertap.records()).toEqual([]);
  for (const secret of SECRETS) expect(t.logs.text()).not.toContain(secret);
});
