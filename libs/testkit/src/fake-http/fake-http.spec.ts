import { z } from 'zod';
import { fakeSpecHarness, until } from './client.spec-helper';
import { FakeInputError, parseOneOrMany } from './input';
import { answerer, startFakeHttp, type ControlApi, type FakeExchange, type FakeHttpServer } from './server';

const harness = fakeSpecHarness<FakeHttpServer>();
const SECRET = 'fake-http-secret-4d1c';

class SampleInputError extends FakeInputError {}
const faultSchema = z.strictObject({ status: z.int().min(200).max(599) });

function control(overrides: Partial<ControlApi> = {}): ControlApi {
  const queued: unknown[] = [];
  return {
    views: { '/_fake/state': (query) => ({ queued, echo: query.get('echo'), secret: SECRET }) },
    queueFaults: (input) => queued.push(...parseOneOrMany(faultSchema, input, (issues) => new SampleInputError('fault', issues))),
    reset: () => void queued.splice(0),
    secrets: [SECRET],
    ...overrides,
  };
}

async function start(serve: (exchange: FakeExchange) => Promise<void>, api = control()): Promise<FakeHttpServer> {
  return harness.track(
    await startFakeHttp({
      contentType: 'application/json',
      crashBody: (message) => JSON.stringify({ crashed: message }),
      serve,
      control: api,
    }),
  );
}

describe('startFakeHttp', () => {
  it('listens on loopback and hands each request, read whole, to serve', async () => {
    const server = await start(async ({ req, res, url, body }) => {
      res.end(JSON.stringify({ method: req.method, path: url.pathname, query: url.search, body: body.toString('utf8') }));
    });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const reply = await harness.send(`${server.url}/upload?x=1`, { body: 'é'.repeat(10_000) });
    expect(reply.json).toEqual({ method: 'POST', path: '/upload', query: '?x=1', body: 'é'.repeat(10_000) });
  });

  it('answers a request its own code fails on with a 500 in the crash body, and keeps serving', async () => {
    let calls = 0;
    const server = await start(async ({ res }) => {
      if (++calls === 1) throw new Error('bug in the fake');
      res.end('{}');
    });
    const crashed = await harness.send(`${server.url}/x`);
    expect([crashed.status, crashed.headers['content-type'], crashed.json]).toEqual([
      500,
      'application/json',
      { crashed: 'bug in the fake' },
    ]);
    expect((await harness.send(`${server.url}/x`)).status).toBe(200);
  });

  it('ends waiting and hung requests when it closes', async () => {
    let waiting = 0;
    const server = await start(async ({ wait }) => {
      waiting++;
      await wait(60_000);
    });
    const pending = harness.send(`${server.url}/slow`);
    await until(() => waiting === 1);
    await server.close();
    await expect(pending).rejects.toThrow();
    expect(server.close()).toBe(server.close()); // idempotent
  });
});

describe('the control API', () => {
  const serveNothing = async () => undefined;

  it('shows views with their query, never a secret', async () => {
    const server = await start(serveNothing);
    const view = await harness.send(`${server.url}/_fake/state?echo=hi`, { method: 'GET' });
    expect([view.status, view.json]).toEqual([200, { queued: [], echo: 'hi', secret: '[redacted]' }]);
    expect(view.text).not.toContain(SECRET);
  });

  it('queues valid faults, one or a list, refuses bad ones by path, and resets', async () => {
    const server = await start(serveNothing);
    const url = `${server.url}/_fake/faults`;
    expect((await harness.send(url, { body: { status: 503 } })).json).toEqual({ queued: 1 });
    expect((await harness.send(url, { body: [{ status: 429 }, { status: 500 }] })).json).toEqual({ queued: 3 });
    const one = await harness.send(url, { body: { status: 99 } });
    const list = await harness.send(url, { body: [{ status: 500 }, { status: 'x' }] });
    const notJson = await harness.send(url, { body: '{' });
    expect([one.status, one.json]).toEqual([400, { error: 'Invalid fault', issues: [{ path: 'status', message: expect.any(String) }] }]);
    expect(list.json).toEqual({ error: 'Invalid fault', issues: [{ path: '[1].status', message: expect.any(String) }] });
    expect([notJson.status, notJson.json]).toEqual([400, { error: 'Invalid fault: the body is not JSON' }]);
    expect((await harness.send(`${server.url}/_fake/state`, { method: 'GET' })).json).toMatchObject({
      queued: [{ status: 503 }, { status: 429 }, { status: 500 }],
    });
    expect((await harness.send(`${server.url}/_fake/reset`)).status).toBe(204);
    expect((await harness.send(`${server.url}/_fake/state`, { method: 'GET' })).json).toMatchObject({ queued: [] });
  });

  it('answers 404 for an unknown route and 405 naming the method a route takes', async () => {
    const server = await start(serveNothing);
    for (const path of ['/_fake/nothing', '/_fake/constructor', '/_fake/__proto__']) {
      expect((await harness.send(`${server.url}${path}`, { method: 'GET' })).status).toBe(404);
    }
    const wrong = await harness.send(`${server.url}/_fake/reset`, { method: 'GET' });
    expect([wrong.status, wrong.headers['allow'], wrong.json]).toEqual([405, 'POST', { error: '/_fake/reset takes POST' }]);
  });

  it('lets an unexpected error of queueFaults show as a crash, not as a refused fault', async () => {
    const server = await start(
      serveNothing,
      control({
        queueFaults: () => {
          throw new Error('not an input error');
        },
      }),
    );
    const reply = await harness.send(`${server.url}/_fake/faults`, { body: {} });
    expect([reply.status, reply.json]).toEqual([500, { crashed: 'not an input error' }]);
  });
});

describe('answerer', () => {
  it('records the status, lets a scripted content type replace the default, and settles once', async () => {
    const entry = { status: null as number | null };
    let settled = 0;
    let closed = false;
    const server = await start(async (exchange) => {
      exchange.res.once('close', () => (closed = true));
      answerer(exchange, entry, 'application/json', () => settled++).answer(503, 'down', {
        'Content-Type': 'text/plain',
        'Retry-After': '3',
      });
    });
    const reply = await harness.send(`${server.url}/x`);
    expect([reply.status, reply.text, reply.headers['content-type'], reply.headers['retry-after']]).toEqual([
      503,
      'down',
      'text/plain',
      '3',
    ]);
    await until(() => closed);
    expect([entry.status, settled]).toEqual([503, 1]);
  });

  it('settles a dropped request and a request abandoned by its client', async () => {
    const arrived: string[] = [];
    const settled: string[] = [];
    const server = await start(async (exchange) => {
      arrived.push(exchange.url.pathname);
      const { drop } = answerer(exchange, { status: null }, 'application/json', () => settled.push(exchange.url.pathname));
      if (exchange.url.pathname === '/drop') drop();
    });
    await expect(harness.send(`${server.url}/drop`)).rejects.toThrow();
    const abandoned = harness.send(`${server.url}/hang`);
    await until(() => arrived.length === 2);
    await server.close();
    await expect(abandoned).rejects.toThrow();
    await until(() => settled.length === 2);
    expect(settled).toEqual(['/drop', '/hang']);
  });
});

describe('FakeInputError', () => {
  it('names every wrong field, under the name of the fake it belongs to', () => {
    const error = (() => {
      try {
        parseOneOrMany(faultSchema, [{ status: 1 }, { status: 200, extra: 1 }], (issues) => new SampleInputError('fault', issues));
      } catch (thrown) {
        return thrown as SampleInputError;
      }
    })();
    expect(error).toBeInstanceOf(FakeInputError);
    expect(error?.name).toBe('SampleInputError');
    expect(error?.issues.map((issue) => issue.path)).toEqual(['[0].status', '[1]']);
    expect(error?.message).toMatch(/^Invalid fault: \[0\]\.status: .+; \[1\]: /);
  });
});
