import { startFakeBraze, webhookBody, fixture, type FakeBraze, type StoredBrazeObject } from '@ferry/testkit';
import type { ConfigInput } from './config';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  closeHttp,
  runFerry,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  settled,
  type TempDir,
  type TestRunner,
} from './testing/harness';

// A real runner against the fake Braze over real HTTP (SPEC §14): the 75-object limit, retries that count nothing
// twice at a destination that keeps no dedupe, a partial error, a refused key, and alias identity.

const API_KEY = 'braze-e2e-api-key-3c9a51';
const SANDBOX_API_KEY = 'braze-e2e-sandbox-key-7e2d04';

function brazeDestination(fake: FakeBraze, settings: Record<string, unknown> = {}): NonNullable<ConfigInput['destinations']>[number] {
  return {
    id: 'braze-main',
    plugin: 'braze',
    timeoutMs: 5_000,
    settings: { restEndpoint: fake.url, apiKey: API_KEY, sandboxApiKey: SANDBOX_API_KEY, ...settings },
  };
}

/** A webhook for user `user-<n>`: an initial purchase (a purchase object) or a cancellation (an event), with one customer attribute. */
function webhook(n: number, overrides: Record<string, unknown> = {}): string {
  const name = n % 2 === 0 ? 'initial_purchase' : 'cancellation';
  return webhookBody(name, {
    id: `braze-e2e-${n}`,
    app_user_id: `user-${n}`,
    subscriber_attributes: { plan_source: { value: `batch-${n}`, updated_at_ms: 1 } },
    ...overrides,
  });
}

/** How many events and purchases landed per user: Braze keeps no dedupe, so a resend shows as 2. */
function landedPerUser(objects: readonly StoredBrazeObject[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const object of objects) counts.set(object.user, (counts.get(object.user) ?? 0) + 1);
  return counts;
}

async function deliveryOf(t: TestRunner, eventId: string) {
  const { deliveries } = (await t.admin('GET', `/events/${encodeURIComponent(eventId)}`)).json;
  return deliveries.find((d: { destinationId: string }) => d.destinationId === 'braze-main');
}

let dir: TempDir;
let fake: FakeBraze;
let t: TestRunner | undefined;
beforeEach(async () => {
  dir = await tempDir();
  fake = await startFakeBraze({ workspaces: { production: API_KEY, sandbox: SANDBOX_API_KEY } });
});
afterEach(async () => {
  await fake.close();
  await t?.runner.close();
  t = undefined;
  await dir.remove();
});
afterAll(() => closeHttp());

async function start(settings: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestRunner> {
  t = await startTestRunner(testConfig(dir.path, { destinations: [{ ...brazeDestination(fake, settings), ...extra }] }));
  return t;
}

it('200 webhooks arrive once each, in requests of at most 75 objects, every delivery in one request', async () => {
  const runner = await start({}, { concurrency: 4 });
  const answers = await Promise.all(Array.from({ length: 200 }, (_, n) => runner.postWebhook(webhook(n))));
  expect(answers.every((answer) => answer.status === 200)).toBe(true);
  await waitFor('every delivery to settle', () => settled(runner));

  const uploads = fake.requests().filter((request) => request.path === '/users/track');
  expect(uploads.every((request) => request.status === 201)).toBe(true);
  expect(Math.max(...uploads.map((request) => request.objects ?? 0))).toBeLessThanOrEqual(75);
  expect(uploads.length).toBeGreaterThanOrEqual(Math.ceil(400 / 75)); // 200 attributes + 200 events/purchases
  // No delivery straddles two requests: each user's attributes and event sit in the same one.
  for (const request of uploads) {
    const body = request.body as {
      attributes?: { external_id: string }[];
      events?: { external_id: string }[];
      purchases?: { external_id: string }[];
    };
    const users = (list: { external_id: string }[] = []) => list.map((object) => object.external_id).sort();
    expect(users(body.attributes)).toEqual(users([...(body.events ?? []), ...(body.purchases ?? [])]));
  }
  const landed = landedPerUser(fake.objects('production'));
  expect(landed.size).toBe(200);
  expect([...landed.values()].every((count) => count === 1)).toBe(true);
  expect(fake.objects('production').filter((o) => o.array === 'purchases')).toHaveLength(100);
  expect(fake.profiles('production').find((p) => p.user === 'external_id:user-7')?.attributes).toEqual({
    rc_customer_attribute_plan_source: 'batch-7',
    rc_subscription_status: 'cancelled',
    rc_active_entitlement_ids: ['pro'],
  });
});

it('a one-time 429 and a 503 are retried as Braze asks, and nothing is counted twice', async () => {
  fake.inject({ type: 'rate-limit', resetInSeconds: 1 }, { type: 'status', status: 503, headers: { 'Retry-After': '1' } });
  const runner = await start();
  for (let n = 0; n < 10; n++) expect((await runner.postWebhook(webhook(n))).status).toBe(200);
  await waitFor('every delivery to settle', () => settled(runner));

  const statuses = fake.requests().map((request) => request.status);
  expect(statuses.slice(0, 2)).toEqual([429, 503]);
  expect(statuses.slice(2).every((status) => status === 201)).toBe(true);
  const landed = landedPerUser(fake.objects());
  expect([...landed.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, n) => `external_id:user-${n}`).sort());
  expect([...landed.values()].every((count) => count === 1)).toBe(true);
  // The refused requests' deliveries were each tried again: every delivery delivered, its last attempt the 201.
  const attempts: (number | null)[][] = [];
  for (let n = 0; n < 10; n++) {
    const delivery = await deliveryOf(runner, `braze-e2e-${n}`);
    expect(delivery.state).toBe('delivered');
    attempts.push(delivery.attemptLog.map((attempt: { status: number | null }) => attempt.status));
  }
  expect(
    attempts
      .flat()
      .filter((status) => status !== 201)
      .sort(),
  ).toEqual(expect.arrayContaining([429, 503]));
  expect(attempts.every((log) => log[log.length - 1] === 201)).toBe(true);
});

it('a partial error rejects only the delivery whose object Braze named; the others land once', async () => {
  const runner = await start();
  // Braze refuses a property over 255 characters: the cancellation's event object is named in `errors`.
  const bodies = [webhook(0), webhook(1, { product_id: `com.example.${'x'.repeat(300)}` }), webhook(2)];
  await Promise.all(bodies.map((body) => runner.postWebhook(body)));
  await waitFor('every delivery to settle', () => settled(runner));

  const refused = await deliveryOf(runner, 'braze-e2e-1');
  expect(refused.state).toBe('dead');
  expect(refused.lastError).toMatch(
    /^braze_invalid_object: Braze refused events\[\d\]: property 'product_id' is longer than 255 characters$/,
  );
  for (const id of ['braze-e2e-0', 'braze-e2e-2']) expect((await deliveryOf(runner, id)).state).toBe('delivered');
  expect([...landedPerUser(fake.objects()).keys()].sort()).toEqual(['external_id:user-0', 'external_id:user-2']);
});

it('a key Braze refuses (401) pauses the destination: nothing dies, and the key appears nowhere', async () => {
  const runner = await start({ apiKey: 'braze-e2e-revoked-key-91f3' });
  expect((await runner.postWebhook(webhook(0))).status).toBe(200);
  const destination = await waitFor('the credentials pause', async () => {
    const [view] = (await runner.admin('GET', '/destinations')).json.destinations;
    return view.pausedBy === 'credentials' && view;
  });
  expect(destination.state).toBe('paused');
  expect((await deliveryOf(runner, 'braze-e2e-0')).state).toBe('paused');
  expect(fake.objects()).toEqual([]);
  const shown = [JSON.stringify(destination), runner.logs.text(), (await runner.admin('GET', '/events/braze-e2e-0')).text];
  for (const text of shown) expect(text).not.toContain('braze-e2e-revoked-key-91f3');
});

it('alias identity: the attributes object creates the alias profile, and the purchase lands on it', async () => {
  const runner = await start();
  const aliased = webhook(0, {
    subscriber_attributes: {
      $brazeAliasName: { value: 'ana-42', updated_at_ms: 1 },
      $brazeAliasLabel: { value: 'crm_id', updated_at_ms: 1 },
    },
  });
  expect((await runner.postWebhook(aliased)).status).toBe(200);
  await waitFor('the delivery to settle', () => settled(runner));

  expect((await deliveryOf(runner, 'braze-e2e-0')).state).toBe('delivered');
  expect(fake.dropped()).toEqual([]);
  expect(fake.profiles()).toEqual([
    {
      workspace: 'production',
      user: 'alias:crm_id:ana-42',
      attributes: { rc_subscription_status: 'active', rc_active_entitlement_ids: ['pro'] },
    },
  ]);
  expect(fake.objects().map((object) => [object.array, object.user])).toEqual([['purchases', 'alias:crm_id:ana-42']]);
});

it('preview shows the Braze request, key redacted, sending nothing', async () => {
  const runner = await start();
  const answer = await runner.admin('POST', '/preview', fixture('initial_purchase').webhook);
  expect(answer.status).toBe(200);
  const [destination] = answer.json.destinations;
  expect(destination).toMatchObject({ destinationId: 'braze-main', plugin: 'braze', status: 'send' });
  const [request] = destination.requests;
  expect(request.url).toBe(`${fake.url}/users/track`);
  expect(request.headers).toEqual({ 'Content-Type': 'application/json', Authorization: 'Bearer [redacted]' });
  expect(Object.keys(JSON.parse(request.body))).toEqual(['attributes', 'purchases']);
  expect(answer.text).not.toContain(API_KEY);
  expect(fake.requests()).toEqual([]);
});

it('ferry preview prints the Braze request, key redacted, with no store and no server', async () => {
  const config = path.join(dir.path, 'ferry.config.json');
  const webhookFile = path.join(dir.path, 'webhook.json');
  await writeFile(config, JSON.stringify({ destinations: [brazeDestination(fake)] }));
  await writeFile(webhookFile, webhookBody('initial_purchase'));
  const run = await runFerry(dir.path, 'preview', '--config', config, webhookFile);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  expect(run.stdout.split('\n')).toEqual(
    expect.arrayContaining(['braze-main (braze): 1 request(s)', `  POST ${fake.url}/users/track`, '  Authorization: Bearer [redacted]']),
  );
  expect(run.stdout).toContain('"rc_event_name": "rc_initial_purchase_event"');
  expect(run.stdout).not.toContain(API_KEY);
  expect(fake.requests()).toEqual([]);
});
