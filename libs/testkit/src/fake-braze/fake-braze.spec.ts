import { EventEmitter } from 'node:events';
import { fakeSpecHarness } from '../fake-http/client.spec-helper';
import { parseFakeBrazeArgs, runFakeBrazeCli } from './cli';
import { FakeBrazeInputError } from './faults';
import { startFakeBraze, type FakeBraze, type FakeBrazeOptions } from './server';

const KEY = 'braze-fake-spec-key-4e1a';
const SANDBOX_KEY = 'braze-fake-spec-sandbox-8d3c';
const harness = fakeSpecHarness<FakeBraze>();

async function start(options: FakeBrazeOptions = {}): Promise<FakeBraze> {
  return harness.track(await startFakeBraze({ workspaces: { production: KEY, sandbox: SANDBOX_KEY }, ...options }));
}

const track = (fake: FakeBraze, body: unknown, { key = KEY, type = 'application/json' } = {}) =>
  harness.send(`${fake.url}/users/track`, { headers: { 'content-type': type, authorization: `Bearer ${key}` }, body });

const TIME = '2025-03-01T10:00:02.000Z';
const event = (user: string, more: Record<string, unknown> = {}) => ({ external_id: user, name: 'rc_renewal_event', time: TIME, ...more });
const purchase = (user: string, more: Record<string, unknown> = {}) => ({
  external_id: user,
  product_id: 'com.example.pro.monthly',
  currency: 'USD',
  price: 9.99,
  quantity: 1,
  time: TIME,
  ...more,
});
const alias = { alias_name: 'ana-42', alias_label: 'crm_id' };

describe('the fake Braze', () => {
  it('takes a valid request with 201 and counts per array sent, with the rate-limit headers', async () => {
    const fake = await start({ now: () => 1_750_000_000_000 });
    const reply = await track(fake, { attributes: [{ external_id: 'u1', plan: 'pro' }], events: [event('u1')] });
    expect(reply.status).toBe(201);
    expect(reply.json).toEqual({ message: 'success', attributes_processed: 1, events_processed: 1 });
    expect(reply.headers).toMatchObject({
      'x-ratelimit-limit': '3000',
      'x-ratelimit-remaining': '2999',
      'x-ratelimit-reset': '1750000002',
    });
    expect(fake.profiles('production')).toEqual([{ workspace: 'production', user: 'external_id:u1', attributes: { plan: 'pro' } }]);
    expect(fake.objects().map((o) => [o.workspace, o.array, o.user])).toEqual([['production', 'events', 'external_id:u1']]);
  });

  it('keeps no dedupe: the same event sent twice is there twice', async () => {
    const fake = await start();
    for (let i = 0; i < 2; i++) expect((await track(fake, { purchases: [purchase('u1')] })).status).toBe(201);
    expect(fake.objects('production')).toHaveLength(2);
  });

  it('answers 401 to a missing, unknown or quoted key, and 404 off /users/track; the sandbox key goes to its workspace', async () => {
    const fake = await start();
    expect((await track(fake, { events: [event('u1')] }, { key: 'wrong-key-000' })).json).toEqual({ message: 'Invalid API Key' });
    expect((await track(fake, { events: [event('u1')] }, { key: `"${KEY}"` })).status).toBe(401);
    expect((await harness.send(`${fake.url}/users/track`, { body: { events: [] } })).status).toBe(401);
    expect((await harness.send(`${fake.url}/users/trak`, { headers: { authorization: `Bearer ${KEY}` }, body: {} })).status).toBe(404);
    expect((await track(fake, { events: [event('u2')] }, { key: SANDBOX_KEY })).status).toBe(201);
    expect(fake.objects('sandbox')).toHaveLength(1);
    expect(fake.objects('production')).toHaveLength(0);
  });

  it('refuses more than 75 objects in all (or per array on a legacy plan), and bodies that are not JSON objects', async () => {
    const fake = await start();
    const attributes = Array.from({ length: 38 }, (_, i) => ({ external_id: `u${i}`, n: i }));
    const events = Array.from({ length: 38 }, (_, i) => event(`u${i}`));
    expect((await track(fake, { attributes, events })).json).toEqual({ message: 'Max Input Length Exceeded' });
    expect((await track(fake, { attributes, events: events.slice(1) })).status).toBe(201);
    const legacy = await start({ limitPerArray: true });
    expect((await track(legacy, { attributes, events })).status).toBe(201);
    expect((await track(fake, 'not json')).json).toEqual({ message: 'Bad Request' });
    expect((await track(fake, { events: {} })).status).toBe(400);
    expect((await track(fake, { events: [event('u1')] }, { type: 'text/plain' })).status).toBe(400);
  });

  it('names each invalid object by array and index, processing the others', async () => {
    const fake = await start();
    const reply = await track(fake, {
      attributes: [
        { external_id: 'u1', $email: 'a@b.c' },
        { external_id: 'u1', long: 'x'.repeat(256) },
      ],
      events: [event('u1'), event('u1', { time: 'yesterday' }), event('u1', { properties: { time: 1 } }), { name: 'x', time: TIME }],
      purchases: [purchase('u1', { quantity: 101 }), purchase('u1', { currency: 'usd' }), purchase('u1')],
    });
    expect(reply.status).toBe(201);
    expect(reply.json).toEqual({
      message: 'success',
      attributes_processed: 0,
      events_processed: 1,
      purchases_processed: 1,
      errors: [
        { type: "attribute key '$email' is not valid", input_array: 'attributes', index: 0 },
        { type: "attribute 'long' is longer than 255 characters", input_array: 'attributes', index: 1 },
        { type: "'time' is not valid", input_array: 'events', index: 1 },
        { type: "property key 'time' is not valid", input_array: 'events', index: 2 },
        { type: 'exactly one of external_id, user_alias, braze_id, email, phone is required', input_array: 'events', index: 3 },
        { type: "'quantity' is not valid", input_array: 'purchases', index: 0 },
        { type: "'currency' is not valid", input_array: 'purchases', index: 1 },
      ],
    });
    expect(fake.objects()).toHaveLength(2);
  });

  it('answers 400 when no object is valid, taking nothing', async () => {
    const fake = await start();
    const reply = await track(fake, { purchases: [purchase('u1', { price: 'free' })] });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.",
      errors: [{ type: "'price' is not valid", input_array: 'purchases', index: 0 }],
    });
    expect(fake.objects()).toEqual([]);
  });

  it('ignores alias objects until an attributes object with _update_existing_only: false creates the alias', async () => {
    const fake = await start();
    expect((await track(fake, { events: [{ ...event('x'), external_id: undefined, user_alias: alias }] })).status).toBe(201);
    expect((await track(fake, { attributes: [{ user_alias: alias, plan: 'pro' }] })).status).toBe(201);
    expect(fake.objects()).toEqual([]);
    expect(fake.profiles()).toEqual([]);
    expect(fake.dropped().map((d) => d.array)).toEqual(['events', 'attributes']);
    const created = await track(fake, {
      attributes: [{ user_alias: alias, _update_existing_only: false, plan: 'pro' }],
      purchases: [{ ...purchase('x'), external_id: undefined, user_alias: alias }],
    });
    expect(created.status).toBe(201);
    expect(fake.profiles()).toEqual([{ workspace: 'production', user: 'alias:crm_id:ana-42', attributes: { plan: 'pro' } }]);
    expect(fake.objects().map((o) => o.user)).toEqual(['alias:crm_id:ana-42']);
  });

  it('keeps the request budget per workspace: over it, 429 until the window resets', async () => {
    let now = 1_750_000_000_000;
    const fake = await start({ rateLimit: { requests: 2, windowSeconds: 3 }, now: () => now });
    for (let i = 0; i < 2; i++) expect((await track(fake, { events: [event('u1')] })).status).toBe(201);
    const limited = await track(fake, { events: [event('u1')] });
    expect(limited.status).toBe(429);
    expect(limited.headers).toMatchObject({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1750000002' });
    expect((await track(fake, { events: [event('u2')] }, { key: SANDBOX_KEY })).status).toBe(201);
    now += 3_000;
    expect((await track(fake, { events: [event('u1')] })).status).toBe(201);
    expect(fake.objects('production')).toHaveLength(3);
  });

  it('plays scripted faults: a 429 with its headers, a 503 that takes nothing, one that took the objects', async () => {
    const fake = await start({ now: () => 1_750_000_000_000 });
    fake.inject(
      { type: 'rate-limit', resetInSeconds: 5, retryAfterSeconds: 4 },
      { type: 'status', status: 503 },
      { type: 'status', status: 500, afterStore: true },
    );
    const limited = await track(fake, { events: [event('u1')] });
    expect([limited.status, limited.headers['x-ratelimit-reset'], limited.headers['x-ratelimit-retry-after']]).toEqual([
      429,
      '1750000005',
      '4',
    ]);
    expect((await track(fake, { events: [event('u1')] })).status).toBe(503);
    expect(fake.objects()).toHaveLength(0);
    expect((await track(fake, { events: [event('u1')] })).status).toBe(500);
    expect(fake.objects()).toHaveLength(1);
    expect(() => fake.inject({ type: 'rate-limit', resetInSeconds: -1 } as never)).toThrow(FakeBrazeInputError);
  });

  it('shows its state over the control API, never an API key', async () => {
    const fake = await start();
    await track(fake, { attributes: [{ external_id: 'u1', plan: 'pro' }], events: [event('u1')] });
    const [objects, users, requests] = await Promise.all(
      ['/_fake/objects?workspace=production', '/_fake/users', '/_fake/requests'].map((path) =>
        harness.send(`${fake.url}${path}`, { method: 'GET' }),
      ),
    );
    expect((objects.json as unknown[]).length).toBe(1);
    expect(users.json).toEqual([{ workspace: 'production', user: 'external_id:u1', attributes: { plan: 'pro' } }]);
    expect(requests.text).not.toContain(KEY);
    expect(requests.json).toMatchObject([{ path: '/users/track', workspace: 'production', objects: 2, status: 201 }]);
  });

  it('refuses bad options naming the field', async () => {
    await expect(startFakeBraze({ maxObjects: 0 })).rejects.toThrow(/maxObjects/);
  });
});

describe('fake-braze on the command line', () => {
  it('reads its flags, naming a bad one without its value', () => {
    expect(parseFakeBrazeArgs(['--workspace', 'production:k-1', '--workspace=sandbox:k-2', '--port', '0'])).toEqual({
      kind: 'run',
      options: { port: 0, workspaces: { production: ['k-1'], sandbox: ['k-2'] }, latencyMs: undefined },
    });
    expect(parseFakeBrazeArgs(['--workspace', 'production:k-1'])).toMatchObject({ options: { port: 9998 } });
    expect(parseFakeBrazeArgs(['--workspace', 'secret-without-name'])).toEqual({
      kind: 'error',
      message: '--workspace must look like NAME:REST_API_KEY',
    });
    expect(parseFakeBrazeArgs([])).toMatchObject({ kind: 'error', message: expect.stringContaining('--workspace') });
  });

  it('serves until SIGTERM, logging each request without its key', async () => {
    const lines: string[] = [];
    const signals = new EventEmitter();
    const running = runFakeBrazeCli(
      ['--port', '0', '--workspace', `production:${KEY}`],
      { out: (l) => lines.push(l), err: (l) => lines.push(l) },
      signals,
    );
    for (let i = 0; i < 200 && !lines.some((l) => l.includes('listening on')); i++) await new Promise((r) => setTimeout(r, 10));
    const url = /listening on (\S+)/.exec(lines.join('\n'))![1];
    expect(
      (
        await harness.send(`${url}/users/track`, {
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: { events: [event('u1')] },
        })
      ).status,
    ).toBe(201);
    for (let i = 0; i < 200 && !lines.some((l) => l.includes('→ 201')); i++) await new Promise((r) => setTimeout(r, 10));
    signals.emit('SIGTERM');
    expect(await running).toBe(0);
    expect(lines.join('\n')).toMatch(/POST \/users\/track workspace=production objects=1 → 201/);
    expect(lines.join('\n')).not.toContain(KEY);
  });
});
