import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { systemClock } from '@ferry/core';
import { pending, testEvent } from '@ferry/store-contract';
import { openStore } from '@ferry/store';
import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import type { AlertTuning } from './alert-target';
import { ALERT_CLAIMS_KEPT_MS, AlertService, type Alert } from './alerts';
import { RUNNER_TOKENS } from './container';
import {
  captureLogs,
  clevertapDestination,
  closeHttp,
  PASSCODE,
  SECRETS,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
} from './testing/harness';
import type { TempDir, TestRunner } from './testing/harness';
import { createLogger } from './logging';
import { createTestSchema, postgresFor, type TestSchema } from './testing/postgres';

const DESTINATION = 'clevertap-main';
/** Slack's webhook URLs carry their credential in the path. */
const SLACK_PATH = '/services/T0FERRY/B0ALERTS/slack-hook-secret-91c3';

interface Received {
  readonly path: string;
  readonly body: string;
}

/** A local alert receiver: keeps every POST; `answer` decides the status (or hangs when it returns undefined). */
interface Receiver {
  readonly url: string;
  readonly received: Received[];
  answer: (request: Received) => number | undefined;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  const receiver = {
    url: '',
    received,
    answer: (_request: Received): number | undefined => 200,
    close: async () => {
      for (const response of hanging) response.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const entry = { path: request.url ?? '', body };
      received.push(entry);
      const status = receiver.answer(entry);
      if (status === undefined) hanging.add(response);
      else response.writeHead(status).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** Every JSON-format alert the receiver got (at /json), of one kind. */
const jsonAlerts = (receiver: Receiver, kind?: Alert['kind']): Alert[] =>
  receiver.received
    .filter((entry) => entry.path === '/json')
    .map((entry) => JSON.parse(entry.body) as Alert)
    .filter((alert) => kind === undefined || alert.kind === kind);
const slackTexts = (receiver: Receiver): string[] =>
  receiver.received.filter((entry) => entry.path === SLACK_PATH).map((entry) => (JSON.parse(entry.body) as { text: string }).text);

const FAST_ALERTS: AlertTuning = { timeoutMs: 2_000, attempts: 3, backoffMs: 10, leaseMs: 60_000 };

let dir: TempDir;
let fake: FakeCleverTap;
let receiver: Receiver;
const runners: TestRunner[] = [];

beforeAll(async () => {
  fake = await startFakeCleverTap({ accounts: { 'TEST-ACC-001': PASSCODE } });
});

beforeEach(async () => {
  dir = await tempDir();
  receiver = await startReceiver();
  fake.reset();
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.runner.close();
  // Whatever else a test checks, no alert ever carries a secret: the passcodes, tokens or a target's URL.
  const everything = receiver.received.map((entry) => entry.body).join('\n');
  for (const secret of [...SECRETS, SLACK_PATH, 'slack-hook-secret-91c3']) expect(everything).not.toContain(secret);
  await receiver.close();
  await dir.remove();
});

afterAll(async () => {
  await fake?.close();
  await closeHttp();
});

function alertingConfig(extra: Parameters<typeof testConfig>[1] = {}) {
  return testConfig(dir.path, {
    destinations: [clevertapDestination(fake)],
    alerts: {
      targets: [
        { url: `${receiver.url}${SLACK_PATH}`, format: 'slack' },
        { url: `${receiver.url}/json`, format: 'json' },
      ],
    },
    ...extra,
  });
}

async function start(config = alertingConfig(), tuning: AlertTuning = FAST_ALERTS): Promise<TestRunner> {
  const runner = await startTestRunner(config, {
    configure: (services) => services.replaceValue(RUNNER_TOKENS.AlertTuning, tuning),
  });
  runners.push(runner);
  return runner;
}

describe('alerts (SPEC §10)', () => {
  it('sends one alert per target when an operator pauses a destination and one when it resumes; a restart repeats neither', async () => {
    const runner = await start();
    expect((await runner.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'quiet hours' })).status).toBe(200);
    await waitFor('the pause alert', () => jsonAlerts(receiver, 'paused').length > 0);
    await runner.runner.alerts.idle();

    expect(jsonAlerts(receiver)).toEqual([
      expect.objectContaining({ source: 'ferry', kind: 'paused', destinationId: DESTINATION, pausedBy: 'operator', reason: 'quiet hours' }),
    ]);
    expect(slackTexts(receiver)).toEqual([expect.stringMatching(/destination clevertap-main was paused by an operator \(quiet hours\)/)]);

    // The pause is kept in the store: a restarted runner finds it, but its alert was already sent.
    await runner.runner.close();
    const restarted = await start();
    await waitFor('the restarted runner to see the pause', () => restarted.runner.dispatcher.status()[0]?.state === 'paused');
    await restarted.runner.alerts.idle();
    expect(jsonAlerts(receiver)).toHaveLength(1);

    expect((await restarted.admin('POST', `/destinations/${DESTINATION}/resume`)).status).toBe(200);
    await waitFor('the resume alert', () => jsonAlerts(receiver, 'resumed').length > 0);
    await restarted.runner.alerts.idle();
    expect(jsonAlerts(receiver).map((alert) => alert.kind)).toEqual(['paused', 'resumed']);
    expect(slackTexts(receiver)).toHaveLength(2);
  });

  it('reports dead deliveries grouped, with the count and the first error, and never a secret in it', async () => {
    // The destination refuses every record and echoes the passcode in its error, as a careless API might.
    fake.inject(...Array.from({ length: 50 }, () => ({ type: 'status', status: 400, body: `bad passcode ${PASSCODE}` }) as const));
    const config = alertingConfig();
    // A short interval, so the grouped report comes within the test.
    const reporting = await start({ ...config, alerts: { ...config.alerts, intervalMinutes: 0.005 } });
    for (let i = 0; i < 3; i++) expect((await reporting.postWebhook(webhookBody('renewal', { id: `dead-${i}` }))).status).toBe(200);

    await waitFor(
      'every dead delivery reported',
      () => jsonAlerts(receiver, 'dead').reduce((sum, alert) => sum + (alert.count ?? 0), 0) === 3,
    );
    const [first] = jsonAlerts(receiver, 'dead');
    expect(first).toMatchObject({ destinationId: DESTINATION, firstError: expect.stringContaining('400') });
    expect(first.text).toContain('went dead');
    expect(slackTexts(receiver).some((text) => text.includes('went dead'))).toBe(true);
  });

  it('retries a failing receiver a few times, gives up on a refusal, and never holds up deliveries', async () => {
    let answers = [503, 503, 200];
    receiver.answer = (request) => (request.path === '/json' ? answers.shift() : 200);
    const runner = await start();
    await runner.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'first' });
    await waitFor('the third try', () => jsonAlerts(receiver).length === 3);
    await runner.runner.alerts.idle();
    expect(jsonAlerts(receiver).map((alert) => alert.kind)).toEqual(['paused', 'paused', 'paused']);

    // A refusal is final: one request, no retry.
    answers = [404, 200, 200];
    await runner.admin('POST', `/destinations/${DESTINATION}/resume`);
    await waitFor('the resume alert', () => jsonAlerts(receiver, 'resumed').length > 0);
    await runner.runner.alerts.idle();
    expect(jsonAlerts(receiver, 'resumed')).toHaveLength(1);
    expect(runner.logs.entries()).toEqual(
      expect.arrayContaining([expect.objectContaining({ msg: 'alert not delivered', target: 'alerts.targets[1] (json)' })]),
    );

    // A receiver that never answers: alerts wait on their own queue while deliveries go out.
    receiver.answer = () => undefined;
    await runner.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'hanging receiver' });
    await waitFor('the hanging alert request', () => jsonAlerts(receiver).length === 5);
    await runner.admin('POST', `/destinations/${DESTINATION}/resume`);
    expect((await runner.postWebhook(webhookBody('renewal', { id: 'while-hanging' }))).status).toBe(200);
    await waitFor('the delivery, while the alert hangs', () => fake.records().length === 1);
    expect(runner.logs.text()).not.toContain(SLACK_PATH);
  });

  it('sends to each target on its own: one that never answers delays only its own alerts', async () => {
    const hanging = await startReceiver();
    hanging.answer = () => undefined;
    try {
      const config = alertingConfig();
      const targets = [
        { url: `${hanging.url}/json`, format: 'json' as const },
        { url: `${receiver.url}/json`, format: 'json' as const },
      ];
      // A timeout far longer than the test: the hanging target's first request never ends while it runs.
      const runner = await start({ ...config, alerts: { ...config.alerts, targets } }, { ...FAST_ALERTS, timeoutMs: 600_000, attempts: 1 });
      await runner.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'first' });
      await waitFor('the pause alert at the answering target', () => jsonAlerts(receiver, 'paused').length === 1);
      await runner.admin('POST', `/destinations/${DESTINATION}/resume`);
      await waitFor('the resume alert at the answering target', () => jsonAlerts(receiver, 'resumed').length === 1);

      expect(jsonAlerts(receiver).map((alert) => alert.kind)).toEqual(['paused', 'resumed']);
      // The hanging target got the first alert and is still holding it; the second waits behind it.
      expect(hanging.received.map((entry) => (JSON.parse(entry.body) as Alert).kind)).toEqual(['paused']);
    } finally {
      await hanging.close();
    }
  });

  it('keeps an alert a runner stopped before it could send, and the next start sends it, once', async () => {
    receiver.answer = () => 503; // the receiver is down
    // Retries far apart: the runner stops while the alert waits for its next try.
    const runner = await start(alertingConfig(), { ...FAST_ALERTS, attempts: 5, backoffMs: 600_000 });
    await runner.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'while the receiver is down' });
    await waitFor('the first try at each target', () => receiver.received.length === 2);
    await runner.runner.close();
    expect(runner.logs.entries()).toEqual(
      expect.arrayContaining([expect.objectContaining({ msg: 'alert not sent before the stop: the next start sends it' })]),
    );

    receiver.answer = () => 200; // back up
    const triedWhileDown = receiver.received.length;
    const restarted = await start();
    await waitFor('the kept alert at both targets', () => receiver.received.length === triedWhileDown + 2);
    await restarted.runner.alerts.idle();
    const sentAfter = receiver.received.slice(triedWhileDown);
    expect(sentAfter.map((entry) => entry.path).sort()).toEqual(['/json', SLACK_PATH].sort());
    expect(JSON.parse(sentAfter.find((entry) => entry.path === '/json')!.body)).toMatchObject({
      kind: 'paused',
      reason: 'while the receiver is down',
    });

    // Sent: a further restart sends nothing again.
    await restarted.runner.close();
    const again = await start();
    await waitFor('the second restart to see the pause', () => again.runner.dispatcher.status()[0]?.state === 'paused');
    await again.runner.alerts.idle();
    expect(receiver.received).toHaveLength(triedWhileDown + 2);
  });

  it('never shows any part of a target URL, its host included, when the target cannot be reached', async () => {
    // Every part of this URL is a secret; the host cannot resolve (.invalid), so the request fails by name.
    const parts = ['alert-user-3f9a', 'alert-pass-8c1d', 'alert-host-secret-5e2b', 'hook-path-secret-77', 'query-secret-19'];
    const url = `http://${parts[0]}:${parts[1]}@${parts[2]}.invalid/${parts[3]}?token=${parts[4]}`;
    const config = alertingConfig();
    const runner = await start(
      { ...config, alerts: { ...config.alerts, targets: [{ url, format: 'json' }] } },
      { ...FAST_ALERTS, attempts: 2 },
    );
    await runner.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'unreachable target' });
    await waitFor('the failed alert', () => runner.logs.entries().find((entry) => entry.msg === 'alert not delivered'));
    expect(runner.logs.entries()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          msg: 'alert not delivered',
          target: 'alerts.targets[0] (json)',
          attempts: 2,
          problem: expect.any(String),
        }),
      ]),
    );
    await runner.runner.close();
    const everything = runner.logs.text();
    for (const part of parts) expect(everything).not.toContain(part);
  });

  it("redacts a secret from the store's error when a target's sent alert cannot be recorded", async () => {
    const store = await openStore(`sqlite:${path.join(dir.path, 'outbox.db')}`);
    const logs = captureLogs();
    const secret = 'store-secret-4f7a2c';
    const alerts = new AlertService({
      config: {
        alerts: { targets: [{ url: `${receiver.url}/json`, format: 'json' }], intervalMinutes: 5, pendingMinutes: 15 },
        destinations: [],
      },
      // The store as it is, but recording a target's send fails with a message naming a secret.
      alerts: Object.assign(Object.create(store.coordination) as typeof store.coordination, {
        alertSent: () => Promise.reject(new Error(`cannot write as ${secret}`)),
      }),
      log: store.log,
      clock: systemClock,
      logger: createLogger({ level: 'debug', secrets: [], stream: logs.stream }),
      redact: (text) => text.replaceAll(secret, '[redacted]'),
      tuning: FAST_ALERTS,
    });
    try {
      alerts.start();
      alerts.statusChanged({
        destinationId: DESTINATION,
        plugin: 'clevertap',
        state: 'paused',
        pausedBy: 'operator',
        reason: 'maintenance',
        since: Date.now(),
        inFlightRequests: 0,
      });
      await waitFor('the alert sent', () => receiver.received.length === 1);
      await alerts.idle();
      expect(logs.entries()).toContainEqual(expect.objectContaining({ msg: 'alert failed', error: 'cannot write as [redacted]' }));
      expect(logs.text()).not.toContain(secret);
    } finally {
      await alerts.stop();
      await store.close();
    }
  });

  it('prunes claims older than it keeps them, so alert_claims stays bounded', async () => {
    const store = await openStore(`sqlite:${path.join(dir.path, 'claims.db')}`);
    const alerts = new AlertService({
      config: {
        alerts: { targets: [{ url: `${receiver.url}/json`, format: 'json' }], intervalMinutes: 5, pendingMinutes: 15 },
        destinations: [],
      },
      alerts: store.coordination,
      log: store.log,
      clock: systemClock,
      logger: createLogger({ level: 'debug', secrets: [], stream: captureLogs().stream }),
      redact: (text) => text,
      tuning: FAST_ALERTS,
    });
    const claim = (key: string, nowMs: number) =>
      store.coordination.claimAlert({ key, alert: '{}', targets: 0, owner: 'earlier-runner', nowMs, leaseMs: 60_000 });
    try {
      const now = Date.now();
      expect(await claim('dead:ct:old', now - ALERT_CLAIMS_KEPT_MS - 60_000)).toBe(true);
      expect(await claim('dead:ct:recent', now - 60_000)).toBe(true);
      alerts.check();
      await alerts.idle();
      // The old key is forgotten (it could be claimed again); the recent one still keeps a restart from repeating it.
      expect(await claim('dead:ct:old', now)).toBe(true);
      expect(await claim('dead:ct:recent', now)).toBe(false);
    } finally {
      await alerts.stop();
      await store.close();
    }
  });

  it('reports a backlog older than alerts.pendingMinutes once, until it clears', async () => {
    const store = await openStore(`sqlite:${path.join(dir.path, 'backlog.db')}`);
    const logs = captureLogs();
    const alerts = new AlertService({
      config: {
        alerts: { targets: [{ url: `${receiver.url}/json`, format: 'json' }], intervalMinutes: 5, pendingMinutes: 15 },
        destinations: [{ id: 'ct' }, { id: 'amp' }] as never,
      },
      alerts: store.coordination,
      log: store.log,
      clock: systemClock,
      logger: createLogger({ level: 'debug', secrets: [], stream: logs.stream }),
      redact: (text) => text,
      tuning: FAST_ALERTS,
    });
    try {
      const now = Date.now();
      await store.queue.ingest(testEvent('old'), [pending('ct'), pending('amp')], now - 20 * 60_000);
      await store.queue.ingest(testEvent('new'), [pending('amp')], now);
      await store.queue.setPaused('amp', true, now); // paused deliveries are no backlog
      alerts.check();
      await alerts.idle();
      expect(jsonAlerts(receiver)).toEqual([expect.objectContaining({ kind: 'pending', destinationId: 'ct', oldestPendingMinutes: 20 })]);

      alerts.check();
      await alerts.idle();
      expect(jsonAlerts(receiver)).toHaveLength(1);
    } finally {
      await alerts.stop();
      await store.close();
    }
  });
});

const databaseUrl = postgresFor('alerts on Postgres');

(databaseUrl ? describe : describe.skip)(
  databaseUrl ? 'alerts from two runners on one Postgres' : 'alerts on Postgres (SKIPPED: DATABASE_URL is not set)',
  () => {
    let schema: TestSchema;

    beforeEach(async () => {
      schema = await createTestSchema(databaseUrl!, 'alerts');
    });

    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.runner.close();
      await schema.drop();
    });

    it('sends each pause and resume once, not once per runner', async () => {
      const config = alertingConfig({ store: { url: schema.url } });
      const [a, b] = [await start(config), await start(config)];

      expect((await a.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'both see it' })).status).toBe(200);
      for (const runner of [a, b])
        await waitFor('both runners to see the pause', () => runner.runner.dispatcher.status()[0]?.state === 'paused');
      await Promise.all([a.runner.alerts.idle(), b.runner.alerts.idle()]);
      expect(jsonAlerts(receiver)).toEqual([expect.objectContaining({ kind: 'paused', reason: 'both see it' })]);
      expect(slackTexts(receiver)).toHaveLength(1);

      expect((await b.admin('POST', `/destinations/${DESTINATION}/resume`)).status).toBe(200);
      for (const runner of [a, b])
        await waitFor('both runners to see the resume', () => runner.runner.dispatcher.status()[0]?.state === 'running');
      await Promise.all([a.runner.alerts.idle(), b.runner.alerts.idle()]);
      expect(jsonAlerts(receiver).map((alert) => alert.kind)).toEqual(['paused', 'resumed']);
    });

    it('has another runner send, once, the alert a stopped runner could not', async () => {
      const config = alertingConfig({ store: { url: schema.url } });
      // Short leases, so a runner looks for released alerts every second.
      const tuning = { ...FAST_ALERTS, attempts: 5, backoffMs: 600_000, leaseMs: 3_000 };
      receiver.answer = () => 503; // the receiver is down
      const a = await start(config, tuning);
      expect((await a.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'receiver down' })).status).toBe(200);
      await waitFor('the first try at each target', () => receiver.received.length === 2);
      // A second runner sees the same pause, but the alert is the first runner's to send.
      const b = await start(config, tuning);
      await waitFor('the second runner to see the pause', () => b.runner.dispatcher.status()[0]?.state === 'paused');
      await b.runner.alerts.idle();
      expect(receiver.received).toHaveLength(2);

      receiver.answer = () => 200;
      await a.runner.close();
      await waitFor('the released alert at both targets', () => receiver.received.length === 4);
      await b.runner.alerts.idle();
      const sent = receiver.received.slice(2);
      expect(sent.map((entry) => entry.path).sort()).toEqual(['/json', SLACK_PATH].sort());
      expect(JSON.parse(sent.find((entry) => entry.path === '/json')!.body)).toMatchObject({ kind: 'paused', reason: 'receiver down' });
    });
  },
);
