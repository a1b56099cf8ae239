import Ajv2020 from 'ajv/dist/2020';
import {
  findSecret,
  startWebhookReceiver,
  verifyStandardWebhook,
  webhookBody,
  type ReceivedWebhook,
  type WebhookReceiver,
} from '@ferry/testkit';
import type { ConfigInput } from './config';
import { closeHttp, send, settled, startTestRunner, tempDir, testConfig, waitFor, type TempDir, type TestRunner } from './testing/harness';

// A real runner delivering to two receivers of your own over real HTTP (SPEC §16): different secrets and formats,
// every request's signature and id checked by the testkit's verifier, a 500 retried under the same webhook-id, a
// replay under it again, a 410 pausing one endpoint while the other keeps receiving, and a secret rotated on one.

const secretOf = (seed: string) => `whsec_${Buffer.from(seed).toString('base64')}`;
const BILLING_SECRET = secretOf('e2e-billing-secret-5d1c7a93e0b2');
const LAKE_OLD_SECRET = secretOf('e2e-lake-old-secret-2f8b6c41d7a9');
const LAKE_NEW_SECRET = secretOf('e2e-lake-new-secret-9a3e5b70c1f4');
const LAKE_GATEWAY_TOKEN = 'lake-gateway-token-7c2e91f04b';
const SECRETS = [BILLING_SECRET, LAKE_OLD_SECRET, LAKE_NEW_SECRET, LAKE_GATEWAY_TOKEN];

let dir: TempDir;
let billing: WebhookReceiver;
let lake: WebhookReceiver;
let t: TestRunner | undefined;
beforeEach(async () => {
  dir = await tempDir();
  billing = await startWebhookReceiver({ secrets: [BILLING_SECRET] });
  // The lake's receiver has not taken the new secret yet: during the overlap the old signature still lets it in.
  lake = await startWebhookReceiver({ secrets: [LAKE_OLD_SECRET] });
});
afterEach(async () => {
  await t?.runner.close();
  t = undefined;
  await Promise.all([billing.close(), lake.close()]);
  await dir.remove();
});
afterAll(() => closeHttp());

function destinations(): NonNullable<ConfigInput['destinations']> {
  return [
    { id: 'billing', plugin: 'webhook', timeoutMs: 5_000, settings: { url: `${billing.url}/hooks/ferry`, secret: BILLING_SECRET } },
    {
      id: 'lake',
      plugin: 'webhook',
      timeoutMs: 5_000,
      settings: {
        url: `${lake.url}/ingest?source=ferry`,
        format: 'revenuecat',
        secret: LAKE_NEW_SECRET,
        previousSecret: LAKE_OLD_SECRET,
        rotationEndsAt: new Date(Date.now() + 24 * 3_600_000).toISOString(),
        headers: { Authorization: `Bearer ${LAKE_GATEWAY_TOKEN}` },
      },
    },
  ];
}

async function start(): Promise<TestRunner> {
  t = await startTestRunner(testConfig(dir.path, { destinations: destinations() }));
  return t;
}

/** A webhook as RevenueCat would send it, pretty-printed: the lake must get these exact bytes. */
function webhook(n: number, fixture: 'initial_purchase' | 'renewal' | 'cancellation' = 'renewal'): string {
  return JSON.stringify(JSON.parse(webhookBody(fixture, { id: `webhook-e2e-${n}`, app_user_id: `user-${n}` })), null, 2);
}

async function deliveryIdsOf(runner: TestRunner, eventId: string): Promise<Record<string, { id: string; state: string }>> {
  const { deliveries } = (await runner.admin('GET', `/events/${eventId}`)).json as {
    deliveries: { destinationId: string; id: string; state: string }[];
  };
  return Object.fromEntries(deliveries.map((delivery) => [delivery.destinationId, delivery]));
}

const eventIdOf = (request: ReceivedWebhook, format: 'ferry' | 'revenuecat') => {
  const body = JSON.parse(request.body);
  return format === 'ferry' ? body.data.id : body.event.id;
};

it('delivers to two endpoints with their own secrets and formats, every request verified, bodies valid against the served schema', async () => {
  const runner = await start();
  const sent = [webhook(0, 'initial_purchase'), webhook(1), webhook(2, 'cancellation')];
  for (const body of sent) expect((await runner.postWebhook(body)).status).toBe(200);
  await waitFor('every delivery to settle', () => settled(runner));

  const schema = await send('GET', `${runner.runner.url}/schemas/ferry-event.json`);
  expect([schema.status, schema.headers['content-type']]).toEqual([200, 'application/schema+json; charset=utf-8']);
  const validate = new Ajv2020({ strict: true, allErrors: true })
    .addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    .compile(schema.json);

  expect(billing.received()).toHaveLength(3);
  for (const request of billing.received()) {
    expect(request.verification).toMatchObject({ ok: true, matchedSecrets: [0], signatures: 1 });
    expect(request.path).toBe('/hooks/ferry');
    expect(request.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request.body);
    expect([validate(body), validate.errors ?? []]).toEqual([true, []]);
    const delivery = (await deliveryIdsOf(runner, body.data.id))['billing'];
    expect([request.headers['webhook-id'], delivery.state]).toEqual([`msg_${delivery.id}`, 'delivered']);
  }
  expect(billing.received().map((request) => JSON.parse(request.body).type)).toEqual([
    'subscription.initial_purchase',
    'subscription.renewal',
    'subscription.cancellation',
  ]);

  // The lake: the webhooks verbatim, its gateway header, and both signatures while the rotation overlaps.
  expect(lake.received().map((request) => request.body)).toEqual(sent);
  for (const request of lake.received()) {
    expect(request.verification).toMatchObject({ ok: true, matchedSecrets: [0], signatures: 2 });
    expect(request.headers['authorization']).toBe(`Bearer ${LAKE_GATEWAY_TOKEN}`);
    expect(request.path).toBe('/ingest?source=ferry');
    const delivery = (await deliveryIdsOf(runner, eventIdOf(request, 'revenuecat')))['lake'];
    expect(request.headers['webhook-id']).toBe(`msg_${delivery.id}`);
  }
  // The same signatures pass a receiver that has moved to the new secret, and one that trusts both.
  const [first] = lake.received();
  expect(verifyStandardWebhook(first, { secrets: [LAKE_NEW_SECRET, LAKE_OLD_SECRET], nowMs: Date.now() })).toMatchObject({
    ok: true,
    matchedSecrets: [0, 1],
  });

  // One webhook-id per endpoint for the same event: receivers never mistake another endpoint's copy for theirs.
  expect(billing.received()[0].headers['webhook-id']).not.toBe(lake.received()[0].headers['webhook-id']);
});

it('retries a 500 under the same webhook-id, and a replay sends it once more under that id', async () => {
  billing.answerNext(500);
  const runner = await start();
  expect((await runner.postWebhook(webhook(0))).status).toBe(200);
  await waitFor('every delivery to settle', () => settled(runner));

  const attempts = billing.received();
  expect(attempts.map((request) => request.status)).toEqual([500, 204]);
  const { billing: delivery } = await deliveryIdsOf(runner, 'webhook-e2e-0');
  expect(attempts.map((request) => request.headers['webhook-id'])).toEqual([`msg_${delivery.id}`, `msg_${delivery.id}`]);
  expect(attempts.every((request) => request.verification.ok)).toBe(true);
  expect(attempts[0].body).toBe(attempts[1].body);

  const replay = await runner.admin('POST', '/replay', { deliveryIds: [delivery.id], states: ['delivered'] });
  expect(replay.status).toBe(202);
  await waitFor('the replay to arrive', () => billing.received().length === 3);
  const replayed = billing.received()[2];
  expect([replayed.headers['webhook-id'], replayed.verification.ok, replayed.body]).toEqual([`msg_${delivery.id}`, true, attempts[1].body]);
});

it('410 pauses that endpoint only: its deliveries wait, the other keeps receiving, and no secret shows anywhere', async () => {
  lake.answerByDefault(410);
  const runner = await start();
  expect((await runner.postWebhook(webhook(0))).status).toBe(200);
  const paused = await waitFor('the lake to pause', async () => {
    const { destinations: views } = (await runner.admin('GET', '/destinations')).json as {
      destinations: { id: string; state: string; pausedBy?: string }[];
    };
    const view = views.find((destination) => destination.id === 'lake');
    return view?.pausedBy === 'credentials' && view;
  });
  expect(paused.state).toBe('paused');

  for (let n = 1; n <= 3; n++) expect((await runner.postWebhook(webhook(n))).status).toBe(200);
  await waitFor('billing to receive all four', () => billing.received().length === 4);
  expect(billing.received().every((request) => request.status === 204 && request.verification.ok)).toBe(true);
  const states = await Promise.all([0, 1, 2, 3].map(async (n) => (await deliveryIdsOf(runner, `webhook-e2e-${n}`))['lake'].state));
  expect(states.every((state) => state === 'paused')).toBe(true);
  // Whatever the lake was sent (the first attempt, then probes), it answered 410 and nothing died.
  expect(lake.received().every((request) => request.status === 410)).toBe(true);

  const known = SECRETS.map((value, index) => ({ key: `secret-${index}`, value }));
  const shown = [
    runner.logs.text(),
    (await runner.admin('GET', '/destinations')).text,
    (await runner.admin('GET', '/events/webhook-e2e-0')).text,
    (await runner.admin('POST', '/preview', JSON.parse(webhook(9)))).text,
    (await send('GET', `${runner.runner.url}/metrics`)).text,
  ];
  for (const text of shown) expect(findSecret(text, known)).toBeUndefined();
});

it('answers 404 naming the schemas for an unknown one', async () => {
  const runner = await start();
  const answer = await send('GET', `${runner.runner.url}/schemas/nope.json`);
  expect([answer.status, answer.json]).toEqual([404, { error: 'no such schema; the schemas are /schemas/ferry-event.json' }]);
});
