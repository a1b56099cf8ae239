import { validate } from '@readme/openapi-parser';
import Ajv2020 from 'ajv/dist/2020';
import type { FastifyInstance } from 'fastify';
import { fixture, startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  ADMIN_TOKEN,
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
} from '../testing/harness';
import type { OpenApiDocument } from './openapi';

let dir: TempDir;
let fake: FakeCleverTap;
let t: TestRunner;
/** Every method and path Fastify registered under /admin, as `GET /admin/events/:id`. */
const registered: string[] = [];

/** Every route of a ready app, read from Fastify's tree of them (HEAD, which Fastify adds to each GET, left out). */
function registeredRoutes(app: FastifyInstance): string[] {
  const branch: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!node) continue;
    branch.length = node[1].length / 4;
    branch.push(node[2]);
    for (const method of node[3]?.split(', ') ?? []) if (method !== 'HEAD') routes.push(`${method} ${branch.join('')}`);
  }
  return routes;
}
let document: OpenApiDocument;
const ajv = new Ajv2020({ strict: false, allErrors: true });
/** The operations and statuses whose real answers were checked against the document, as `GET /admin/events/{id} 200`. */
const checked = new Set<string>();

beforeAll(async () => {
  dir = await tempDir();
  // Renewals are discarded by the account (code 528): they end dead, so there is something to replay.
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, discardedEvents: ['rc_renewal_event'] });
  const destinations = [clevertapDestination(fake), { ...clevertapDestination(fake, { passcode: '' }), id: 'clevertap-unset' }];
  t = await startTestRunner(testConfig(dir.path, { destinations }));
  registered.push(...registeredRoutes(t.runner.app).filter((route) => route.split(' ')[1].startsWith('/admin')));
  document = (await t.admin('GET', '/openapi.json')).json;
  ajv.addSchema(document, 'openapi.json');
  for (const name of ['initial_purchase', 'renewal', 'transfer'] as const)
    expect((await t.postWebhook(webhookBody(name))).status).toBe(200);
  await waitFor('the renewal to die', async () => (await t.admin('GET', '/deliveries?state=dead')).json.deliveries.length === 1);
  // Deliveries of a destination since removed from the config, as ingest stored them then.
  const event = fixture('initial_purchase').webhook.event;
  await t.runner.store.queue.ingest(
    {
      id: 'orphaned',
      source: 'revenuecat',
      type: 'INITIAL_PURCHASE',
      kind: 'initial_purchase',
      userId: event.app_user_id as string,
      productId: null,
      environment: 'PRODUCTION',
      timestampMs: Date.now(),
      body: webhookBody('initial_purchase', { id: 'orphaned' }),
    },
    [
      { destinationId: 'removed-crm', state: 'pending' },
      { destinationId: 'removed-analytics', state: 'paused', reason: 'settings.apiKey' },
    ],
    Date.now(),
  );
});

afterAll(async () => {
  await t?.runner.close();
  await fake?.close();
  await closeHttp();
  await dir?.remove();
});

/** Sends an admin request and checks its answer against what the document says that path, method and status answer. */
async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpAnswer> {
  const answer = await t.admin(method, path, body);
  const template = Object.keys(document.paths).find((candidate) => pathPattern(candidate).test(`/admin${path.split('?')[0]}`));
  expect(template).toBeDefined();
  const pointer = ['paths', template!, method.toLowerCase(), 'responses', String(answer.status), 'content', 'application/json', 'schema']
    .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
    .join('/');
  const check = ajv.getSchema(`openapi.json#/${pointer}`);
  if (!check) throw new Error(`the document has no schema for ${method} ${template} answering ${answer.status}`);
  if (!check(answer.json)) throw new Error(`${method} ${path} ${answer.status}: ${ajv.errorsText(check.errors)}\n${answer.text}`);
  checked.add(`${method} ${template} ${answer.status}`);
  return answer;
}

const pathPattern = (template: string) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);

describe('GET /admin/openapi.json', () => {
  it('needs the admin token, like every admin route', async () => {
    const answer = await send('GET', `${t.runner.url}/admin/openapi.json`);
    expect(answer.status).toBe(401);
  });

  it('is a valid OpenAPI 3.1 document, with the admin token as a bearer scheme', async () => {
    const result = await validate(structuredClone(document) as never);
    expect(result).toMatchObject({ valid: true });
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes).toEqual({ adminToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    expect(document.security).toEqual([{ adminToken: [] }]);
  });

  it('covers every route registered under /admin, and only those', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    expect(registered.length).toBeGreaterThan(10);
    expect([...documented].sort()).toEqual([...registered].sort());
  });

  it('describes each route with its request: path and query parameters, and the body', () => {
    const events = document.paths['/admin/events'].get as { parameters: { name: string; in: string }[] };
    expect(events.parameters.map(({ name, in: place }) => `${place}:${name}`)).toEqual(
      ['state', 'destination', 'user', 'userPrefix', 'product', 'kind', 'type', 'source', 'since', 'until', 'limit', 'before'].map(
        (name) => `query:${name}`,
      ),
    );
    expect(document.paths['/admin/events/{id}'].get).toMatchObject({ parameters: [{ name: 'id', in: 'path', required: true }] });
    expect(document.paths['/admin/replay'].post).toMatchObject({
      requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/ReplayRequest' } } } },
    });
    expect(document.components.schemas.DeliveryState).toEqual({
      type: 'string',
      enum: ['pending', 'in_flight', 'delivered', 'skipped', 'dead', 'paused'],
      description: expect.any(String),
    });
  });
});

describe("every admin route's real answers match the document", () => {
  it('answers as documented, success and refusal alike', async () => {
    await call('GET', '/openapi.json');
    const { events } = (await call('GET', '/events?limit=2')).json;
    await call('GET', '/events?limit=lots');
    await call('GET', `/events/${encodeURIComponent(events[0].id)}`);
    await call('GET', `/events/${encodeURIComponent(fixture('renewal').webhook.event.id as string)}`);
    await call('GET', '/events/no-such-event');
    const { deliveries } = (await call('GET', '/deliveries?state=dead')).json;
    await call('GET', '/deliveries?state=lost');
    await call('GET', '/events?source=revenuecat');
    await call('GET', '/events?source=not%20an%20id');
    await call('GET', '/events?userPrefix=a&product=com.example.pro.monthly&kind=renewal');
    await call('GET', '/events?user=a&userPrefix=a');
    await call('GET', `/users/${encodeURIComponent(events[0].userId ?? 'nobody')}`);
    await call('GET', '/users/no-such-user');
    await call('GET', `/users/${'x'.repeat(513)}`);
    await call('GET', '/sources');

    await call('GET', '/destinations');
    await call('POST', '/destinations/clevertap-main/pause', { reason: 'maintenance' });
    await call('POST', '/destinations/clevertap-main/pause', { why: 'typo' });
    await call('POST', '/destinations/nope/pause');
    await call('POST', '/destinations/clevertap-main/resume');
    await call('POST', '/destinations/clevertap-unset/resume');
    await call('POST', '/destinations/nope/resume');
    await call('GET', '/destinations/clevertap-main/check');
    await call('GET', '/destinations/nope/check');

    const { job } = (await call('POST', '/replay', { deliveryIds: [deliveries[0].id] })).json;
    await call('POST', '/replay', { states: ['pending'] });
    await call('POST', '/replay/count', { deliveryIds: [deliveries[0].id] });
    await call('POST', '/replay/count', { from: 1 });
    await waitFor('the replay to finish', async () => (await call('GET', `/replays/${job.id}`)).json.job.state === 'done');
    await call('GET', '/replays/no-such-job');
    await call('GET', '/replays');

    await call('GET', '/orphans');
    await call('POST', '/orphans/removed-analytics/drop');
    await call('POST', '/orphans/clevertap-main/drop');
    await call('POST', '/orphans/removed-crm/reassign', { to: 'clevertap-main' });
    await call('POST', '/orphans/removed-crm/reassign', { to: 'nowhere' });

    await call('POST', '/preview', fixture('initial_purchase').webhook);
    await call('POST', '/preview', fixture('transfer').webhook);
    await call('POST', '/preview', { api_version: '1.0', event: { id: 'x' } });
    await call('POST', '/erase', { appUserId: fixture('renewal').webhook.event.app_user_id });
    await call('POST', '/erase', {});
    await call('POST', '/erase', { appUserId: 'someone', destinations: true });

    // An erasure job that died at a destination no longer configured (this runner's plugins erase nowhere yet).
    const { erasures } = t.runner.store;
    await erasures.addErasureJobs(
      [{ id: 'erasure-1', destinationId: 'removed-crm', subject: { appUserIds: ['someone'], identities: [] }, steps: 1 }],
      0,
    );
    await erasures.takeErasureJobs({
      owner: 'openapi-spec',
      destinationIds: ['removed-crm'],
      nowMs: Date.now(),
      leaseMs: 60_000,
      limit: 1,
    });
    await erasures.recordErasureStep(
      'erasure-1',
      'openapi-spec',
      { type: 'dead', lastAnswer: 'HTTP 400: no', steps: 1 },
      Date.now(),
      60_000,
    );
    await call('GET', '/erasures?state=dead');
    await call('GET', '/erasures?state=gone');
    await call('POST', '/erasures/erasure-1/retry');
    await call('POST', '/erasures/erasure-1/retry');
    await call('POST', '/erasures/no-such-job/retry');

    // Every operation was seen succeeding; a new route without a case here fails this test.
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => {
        const success = Object.keys(operation.responses as object).find((status) => status.startsWith('2'));
        return `${method.toUpperCase()} ${path} ${success}`;
      }),
    );
    expect(operations.filter((operation) => !checked.has(operation))).toEqual([]);
    for (const refusal of ['400', '404', '409']) expect([...checked].some((seen) => seen.endsWith(` ${refusal}`))).toBe(true);
  });
});

it('the admin token appears nowhere in the document', () => {
  expect(JSON.stringify(document)).not.toContain(ADMIN_TOKEN);
});
