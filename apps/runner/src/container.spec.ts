import { z } from 'zod';
import {
  TOKENS,
  type AnyDestinationPlugin,
  type Clock,
  type HttpRequest,
  type HttpResult,
  type SourcePlugin,
  type SubscriptionEvent,
  type Token,
  type Transport,
} from '@ferry/core';
import { clevertapPlugin } from '@ferry/clevertap';
import { fixtureEvent, webhookBody } from '@ferry/testkit';
import { ConfigError } from './config';
import { CLI_TOKENS, createCliContainer, createRunnerContainer, RUNNER_TOKENS } from './container';
import { listEvents } from './admin/events';
import { previewWebhook } from './admin/preview';
import { createLogger, type PinoLogger } from './logging';
import { ServiceContainer } from './service-container';
import {
  ACCOUNT_ID,
  PASSCODE,
  captureLogs,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
} from './testing/harness';
import { destinationPlugins } from './plugins';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());
afterAll(() => closeHttp());

/** Answers every request as CleverTap accepting all its records, and keeps what it was asked to send. */
function recordingTransport(): Transport & { readonly sent: HttpRequest[]; closed: boolean } {
  const sent: HttpRequest[] = [];
  return {
    sent,
    closed: false,
    async send(request): Promise<HttpResult> {
      sent.push(request);
      const records = (JSON.parse(String(request.body)) as { d: unknown[] }).d.length;
      return {
        kind: 'response',
        status: 200,
        headers: {},
        body: JSON.stringify({ status: 'success', processed: records, unprocessed: [] }),
      };
    },
    async close() {
      this.closed = true;
    },
  };
}

/** A CleverTap destination at an address nothing listens on: only a swapped transport can deliver to it. */
const unreachableCleverTap = {
  id: 'clevertap-main',
  plugin: 'clevertap',
  timeoutMs: 1_000,
  settings: { endpoint: 'http://127.0.0.1:9', accountId: ACCOUNT_ID, passcode: PASSCODE },
};

describe('the runner container', () => {
  it('offers every registered plugin by multi-injection, and names them for an unknown plugin', () => {
    const services = createRunnerContainer({ destinations: [{ id: 'a', plugin: 'mixpanel' }] }, {});
    expect(() => services.get(RUNNER_TOKENS.Config)).toThrow(
      new ConfigError([
        {
          path: 'destinations[0].plugin',
          message: `unknown plugin "mixpanel"; known plugins: ${destinationPlugins.map((plugin) => plugin.id).join(', ')}`,
        },
      ]),
    );
  });

  it('takes a plugin bound beside the offered ones', () => {
    const acme: AnyDestinationPlugin = { ...clevertapPlugin, id: 'acme', displayName: 'Acme' };
    const services = createRunnerContainer({ destinations: [{ id: 'a', plugin: 'acme', settings: { accountId: 'ACC' } }] }, {});
    services.bindValue(TOKENS.DestinationPlugin, acme);
    expect(services.get(RUNNER_TOKENS.Config).destinations[0].plugin).toBe(acme);
  });

  it('gives each configured source its plugin, out of the offered source plugins', () => {
    const [source] = createRunnerContainer({}, {}).get(RUNNER_TOKENS.Config).sources;
    expect({ id: source.id, plugin: source.plugin.id }).toEqual({ id: 'revenuecat', plugin: 'revenuecat' });
    const twice = createRunnerContainer({}, {});
    twice.bindValue(TOKENS.SourcePlugin, { ...fakeSource(), id: 'revenuecat' });
    expect(() => twice.get(RUNNER_TOKENS.Config)).toThrow('two source plugins share the id "revenuecat"');
  });

  it('refuses, at compile time, a binding or a read of the wrong type', () => {
    const services = new ServiceContainer();
    const logger = createLogger({ level: 'info', secrets: [], stream: captureLogs().stream });
    // Each line below compiles only if the token's type check is gone: typecheck then fails on the unused directive.
    // @ts-expect-error a logger is not a clock
    services.bindValue(TOKENS.Clock, logger);
    // @ts-expect-error a factory for the clock must build a clock, not hand back the store
    services.bindFactory(TOKENS.Clock, { store: TOKENS.Store }, ({ store }) => store);
    // @ts-expect-error a plugin list takes destination plugins only
    services.bindValue(TOKENS.DestinationPlugin, fakeSource());
    // @ts-expect-error naming the logger's type does not make the clock's token a logger's
    services.bindValue<PinoLogger>(TOKENS.Clock, logger);
    // @ts-expect-error nor does a variable of a logger's token type take the clock's token
    const loggerToken: Token<PinoLogger> = TOKENS.Clock;
    const reads = {
      // @ts-expect-error the store is no transport
      transport: (): Transport => services.get(TOKENS.Store),
      // @ts-expect-error a multi-token is read as the list of everything bound to it
      plugin: () => services.get(TOKENS.DestinationPlugin),
    };
    // The right types go in and come out as such.
    const clock: Clock = { now: () => 1 };
    services.replaceValue(TOKENS.Clock, clock);
    expect(services.get(TOKENS.Clock).now()).toBe(1);
    expect([Object.keys(reads), loggerToken.key]).toEqual([['transport', 'plugin'], TOKENS.Clock.key]);
  });

  it('builds a factory from the services it names, typed from their tokens, once', () => {
    const services = new ServiceContainer();
    services.bindValue(TOKENS.Clock, { now: () => 42 });
    services.bindValue(TOKENS.DestinationPlugin, clevertapPlugin);
    let built = 0;
    const Summary = { key: Symbol('test.Summary'), multiple: false } as const;
    services.bindFactory(Summary, { clock: TOKENS.Clock, plugins: TOKENS.DestinationPlugin }, ({ clock, plugins }) => {
      built += 1;
      return `${clock.now()}:${plugins.map((plugin) => plugin.id).join(',')}`;
    });
    expect(services.get(Summary)).toBe('42:clevertap');
    expect(services.get(Summary)).toBe('42:clevertap');
    expect(built).toBe(1);
  });

  it('runs on the services bound in it: a rebound clock stamps what the runner stores', async () => {
    const fixedClock: Clock = { now: () => Date.UTC(2031, 0, 2) };
    const t = await startTestRunner(testConfig(dir.path), {
      configure: (services) => services.replaceValue(TOKENS.Clock, fixedClock),
    });
    try {
      const answer = await t.postWebhook(webhookBody('renewal'));
      expect(answer.status).toBe(200);
      expect((await t.runner.store.log.getEvent(answer.json.id))?.receivedAtMs).toBe(Date.UTC(2031, 0, 2));
    } finally {
      await t.runner.close();
    }
  });

  it('sends through the transport bound in it, and closes that one on shutdown', async () => {
    const transport = recordingTransport();
    const t = await startTestRunner(testConfig(dir.path, { destinations: [unreachableCleverTap] }), {
      configure: (services) => services.replaceValue(TOKENS.Transport, transport),
    });
    try {
      const answer = await t.postWebhook(webhookBody('renewal', { id: 'through-the-fake' }));
      expect(answer.status).toBe(200);
      await waitFor(
        'the delivery',
        async () => (await t.runner.store.log.getEvent('through-the-fake'))?.deliveries[0].state === 'delivered',
      );
      expect(transport.sent.map((request) => request.url)).toEqual(['http://127.0.0.1:9/1/upload']);
    } finally {
      await t.runner.close();
    }
    expect(transport.closed).toBe(true);
  });

  it('takes webhooks and stored bodies through a source plugin bound in it, as the config names it', async () => {
    const source = fakeSource();
    const transport = recordingTransport();
    const config = testConfig(dir.path, {
      sources: [{ id: 'fake-app', plugin: 'fake', settings: {} }],
      destinations: [unreachableCleverTap],
    });
    const t = await startTestRunner(config, {
      configure: (services) => {
        services.bindValue(TOKENS.SourcePlugin, source);
        services.replaceValue(TOKENS.Transport, transport);
      },
    });
    try {
      // Not RevenueCat's shape at all: only the bound source can make an event of it.
      const answer = await t.postWebhookTo('fake-app', JSON.stringify({ fake: 'fake-1' }));
      expect(answer.json).toEqual({ status: 'stored', id: 'fake-1' });
      expect((await t.postWebhookTo('fake-app', JSON.stringify({ nothing: true }))).json).toEqual({
        error: 'invalid webhook',
        issues: [{ path: 'fake', message: 'required' }],
      });
      await waitFor('the delivery', async () => (await t.runner.store.log.getEvent('fake-1'))?.deliveries[0].state === 'delivered');
      // Stored with the instance's id as its source, and decoded by that instance's plugin.
      expect((await t.runner.store.log.getEvent('fake-1'))?.source).toBe('fake-app');
      expect(source.decoded).toEqual(['{"fake":"fake-1"}']);
      expect((await t.admin('POST', '/preview', { fake: 'fake-2' })).json.event).toMatchObject({ id: 'fake-2', source: 'fake-app' });
    } finally {
      await t.runner.close();
    }
  });
});

describe('the command line container', () => {
  it('shares the config, source and store bindings, and builds no server, dispatcher or jobs', async () => {
    const services = createCliContainer(testConfig(dir.path), { env: {}, stderr: () => undefined });
    expect(services.get(RUNNER_TOKENS.Config).sources.map((source) => source.id)).toEqual(['revenuecat']);
    expect((await services.get(CLI_TOKENS.Storeless).call(previewWebhook, { body: JSON.parse(webhookBody('renewal')) })).event.type).toBe(
      'RENEWAL',
    );
    expect(() => services.get(RUNNER_TOKENS.Server)).toThrow(/ferry\.runner\.Server/);
    expect(() => services.get(RUNNER_TOKENS.Dispatcher)).toThrow(/ferry\.runner\.Dispatcher/);
    expect(() => services.get(RUNNER_TOKENS.Retention)).toThrow(/ferry\.runner\.Retention/);
    expect(() => services.get(RUNNER_TOKENS.StoreLock)).toThrow(/ferry\.runner\.StoreLock/);
    const admin = await services.getAsync(RUNNER_TOKENS.Admin);
    expect((await admin.call(listEvents)).events).toEqual([]);
    await (await services.getAsync(TOKENS.Store)).close();
  });
});

/** A source that is not RevenueCat: `{ "fake": "<id>" }` is a renewal with that id; it keeps the bodies it decodes. */
function fakeSource(): SourcePlugin & { readonly decoded: string[] } {
  const template = fixtureEvent('renewal');
  const eventOf = (id: string): SubscriptionEvent => ({ ...template, id, source: 'fake' });
  const decoded: string[] = [];
  return {
    id: 'fake',
    displayName: 'Fake',
    settings: z.object({}).strict(),
    exampleSettings: {},
    exampleWebhook: { fake: 'example' },
    authenticates: () => false,
    authenticator: () => () => ({ ok: true }),
    decoded,
    parse: (body) => {
      const id = (body as { fake?: unknown }).fake;
      return typeof id === 'string' ? { ok: true, value: eventOf(id) } : { ok: false, issues: [{ path: 'fake', message: 'required' }] };
    },
    decodeStored: (body) => {
      decoded.push(body);
      return eventOf((JSON.parse(body) as { fake: string }).fake);
    },
  };
}
