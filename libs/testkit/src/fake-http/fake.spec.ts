import { z } from 'zod';
import { fakeSpecHarness } from './client.spec-helper';
import { startFake, type Fake, type FakeVendor, type LoggedRequestBase } from './fake';
import { commonFaultSchemas, FaultPlan, type CommonFault } from './faults';
import { FakeInputError, parseOneOrMany } from './input';

// A vendor as small as the skeleton allows: key in a header, one record per line, "teapot" as its own fault.
type SampleFault = CommonFault | { type: 'teapot' };
interface SampleRequest extends LoggedRequestBase<SampleFault> {
  readonly tenant: string;
}
interface SampleRecord {
  readonly requestId: string;
  readonly tenant: string;
  readonly receivedAt: number;
  readonly line: string;
}

const KEY = 'sample-key-8e2b';
const faultSchema = z.discriminatedUnion('type', [...commonFaultSchemas, z.strictObject({ type: z.literal('teapot') })]);
class SampleInputError extends FakeInputError {}

const harness = fakeSpecHarness<Fake<SampleFault, SampleRequest, SampleRecord>>();

function sampleVendor(log: string[]): FakeVendor<SampleFault, SampleRequest, SampleRecord> {
  const failure = (status: number, error: string) => ({ status, body: JSON.stringify({ error }) });
  return {
    name: 'Sample',
    contentType: 'application/json',
    failure,
    statusTexts: { 503: 'Come back later' },
    storesBeforeStatus: (status) => status === 502,
    describe: ({ url }) => ({ tenant: url.searchParams.get('tenant') ?? 'none' }),
    admit: ({ entry }) => {
      if (entry.headers['x-key'] !== KEY) return { refusal: failure(401, 'bad key') };
      log.push('admit');
      return { release: () => log.push('release') };
    },
    answerOwnFault: (fault) =>
      fault.type === 'teapot' ? { status: 418, body: 'teapot', headers: { 'content-type': 'text/plain' } } : undefined,
    upload: ({ entry, text, take }) => {
      for (const line of (text ?? '').split('\n').filter(Boolean)) {
        take({ requestId: entry.id, tenant: entry.tenant, receivedAt: entry.receivedAt, line });
      }
      return { status: 200, body: JSON.stringify({ ok: true }) };
    },
    parseFaults: (input) => parseOneOrMany(faultSchema, input, (issues) => new SampleInputError('fault', issues)),
    ledger: { path: '/_fake/lines', filterBy: 'tenant' },
    redact: (entry) => ({ ...entry, headers: { ...entry.headers, 'x-key': 'hidden' } }),
    secrets: [KEY],
    reset: () => log.push('vendor reset'),
  };
}

async function start(log: string[] = [], now = () => 1_000) {
  return harness.track(await startFake(sampleVendor(log), { now }));
}

const upload = (fake: { url: string }, body = 'a\nb', tenant = 't1', key = KEY) =>
  harness.send(`${fake.url}/up?tenant=${tenant}`, { body, headers: { 'x-key': key } });
const lines = (fake: Fake<SampleFault, SampleRequest, SampleRecord>) => fake.stored().map((record) => record.line);

describe('startFake', () => {
  it('logs each request by its clock with the vendor fields, keeps what the vendor takes, and shows both redacted', async () => {
    const fake = await start([], () => 42);
    await upload(fake, 'a\nb', 't1');
    await upload(fake, 'c', 't2');
    expect(fake.stored('t2')).toEqual([{ requestId: 'req-2', tenant: 't2', receivedAt: 42, line: 'c' }]);
    expect(fake.requests().map(({ id, receivedAt, tenant, status, body }) => [id, receivedAt, tenant, status, body])).toEqual([
      ['req-1', 42, 't1', 200, 'a\nb'],
      ['req-2', 42, 't2', 200, 'c'],
    ]);
    expect(fake.requests()[0].headers['x-key']).toBe(KEY);
    const shown = await harness.send(`${fake.url}/_fake/lines?tenant=t1`, { method: 'GET' });
    expect((shown.json as SampleRecord[]).map((record) => record.line)).toEqual(['a', 'b']);
    const requests = await harness.send(`${fake.url}/_fake/requests`, { method: 'GET' });
    expect(requests.text).not.toContain(KEY);
    expect((requests.json as SampleRequest[])[0].headers['x-key']).toBe('hidden');
  });

  it('answers a scripted status before storing, or after when the vendor or the fault says so', async () => {
    const fake = await start();
    fake.inject(
      { type: 'status', status: 503 },
      { type: 'status', status: 502, headers: { 'Retry-After': '3' } },
      { type: 'status', status: 500, afterStore: true, body: 'custom', contentType: 'text/plain' },
    );
    const replies = [await upload(fake, 'lost'), await upload(fake, 'landed'), await upload(fake, 'also')];
    expect(replies.map((reply) => [reply.status, reply.text])).toEqual([
      [503, '{"error":"Come back later"}'],
      [502, '{"error":"Bad Gateway"}'],
      [500, 'custom'],
    ]);
    expect([replies[1].headers['retry-after'], replies[2].headers['content-type']]).toEqual(['3', 'text/plain']);
    expect(lines(fake)).toEqual(['landed', 'also']);
    expect(fake.requests().map((request) => request.fault)).toEqual(['status', 'status', 'status']);
  });

  it('drops before or after storing, answers after a delay, and plays the vendor its own faults', async () => {
    const fake = await start();
    fake.inject({ type: 'reset-before-store' }, { type: 'reset-after-store' }, { type: 'delay', ms: 1 }, { type: 'teapot' });
    await expect(upload(fake, 'lost')).rejects.toThrow();
    await expect(upload(fake, 'landed')).rejects.toThrow();
    expect((await upload(fake, 'late')).status).toBe(200);
    const teapot = await upload(fake, 'brewed');
    expect([teapot.status, teapot.text]).toEqual([418, 'teapot']);
    expect(lines(fake)).toEqual(['landed', 'late']);
    expect(fake.requests().map((request) => request.status)).toEqual([null, null, 200, 418]);
  });

  it('keeps faults queued past a refused request, and frees an admitted one just before answering', async () => {
    const log: string[] = [];
    const fake = await start(log);
    fake.inject({ type: 'status', status: 503 });
    expect((await upload(fake, 'x', 't1', 'wrong-key')).status).toBe(401);
    expect((await upload(fake)).status).toBe(503);
    expect((await upload(fake)).status).toBe(200);
    expect(log).toEqual(['admit', 'release', 'admit', 'release']);
  });

  it('refuses a malformed fault by path, and reset forgets records, requests, faults and the vendor state', async () => {
    const log: string[] = [];
    const fake = await start(log);
    expect(() => fake.inject({ type: 'delay', ms: -1 })).toThrow(SampleInputError);
    fake.inject({ type: 'status', status: 500 });
    fake.reset();
    expect((await upload(fake)).status).toBe(200);
    expect(fake.requests()).toHaveLength(1);
    fake.reset();
    expect([fake.stored(), fake.requests()]).toEqual([[], []]);
    expect(log.filter((line) => line === 'vendor reset')).toHaveLength(2);
  });
});

describe('FaultPlan', () => {
  it('plays scripted faults first, then draws from the chances in order', () => {
    const plan = new FaultPlan<string>();
    const draws = [0.05, 0.2, 0.9];
    plan.randomly(
      [
        [0.1, 'first'],
        [0.3, 'second'],
      ],
      () => draws.shift() ?? 0,
    );
    plan.script(['scripted']);
    expect([plan.next(), plan.next(), plan.next(), plan.next()]).toEqual(['scripted', 'first', 'second', undefined]);
    plan.clear();
    expect(plan.next()).toBeUndefined();
  });
});
