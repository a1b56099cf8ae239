import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fixture, startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  SECRETS,
  clevertapDestination,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
  runFerry,
  type CliRun,
} from './testing/harness';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());
afterAll(() => closeHttp());

const ferry = (...argv: string[]): Promise<CliRun> => runFerry(dir.path, ...argv);

async function writeJson(name: string, value: unknown): Promise<string> {
  const file = path.join(dir.path, name);
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** A config file whose CleverTap destination points at `endpoint`; the store lives in the temp dir. */
async function configFile(endpoint = 'http://127.0.0.1:9', name = 'ferry.config.json'): Promise<string> {
  const config = testConfig(dir.path, {
    destinations: [{ id: 'clevertap-main', plugin: 'clevertap', settings: { endpoint, accountId: ACCOUNT_ID, passcode: PASSCODE } }],
  });
  return writeJson(name, config);
}

describe('ferry preview', () => {
  it('prints the exact request for a fixture, secrets redacted, with no store and no server', async () => {
    const config = await configFile();
    const webhook = await writeJson('webhook.json', webhookBody('initial_purchase'));
    const run = await ferry('preview', '--config', config, webhook);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(
      'event 5b1e7c9a-0d3f-4a61-9e2b-7f4c8a1d2e01: INITIAL_PURCHASE (initial_purchase), PRODUCTION, user user_8f14e45f, source revenuecat',
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'clevertap-main (clevertap): 1 request(s)',
        '  POST http://127.0.0.1:9/1/upload',
        `  X-CleverTap-Account-Id: ${ACCOUNT_ID}`,
        '  X-CleverTap-Passcode: [redacted]',
        '  Content-Type: application/json; charset=utf-8',
        '        "evtName": "rc_initial_purchase_event",',
        '        "ts": 1740823202,',
        '        "objectId": "a1b2c3d4e5f6478890abcdef12345678"',
      ]),
    );
    expect(run.stdout).not.toContain(PASSCODE);
    expect(existsSync(path.join(dir.path, 'ferry.db'))).toBe(false);
  });

  it('--json gives the byte-exact request', async () => {
    const config = await configFile();
    const webhook = await writeJson('webhook.json', webhookBody('renewal'));
    const run = await ferry('preview', '--config', config, '--json', webhook);
    const [destination] = JSON.parse(run.stdout).destinations;
    const body = JSON.parse(destination.requests[0].body);
    expect(body).toEqual({ d: [expect.objectContaining({ type: 'event', evtName: 'rc_renewal_event', ts: 1743501605 })] });
    expect(destination.requests[0].headers['X-CleverTap-Passcode']).toBe('[redacted]');
  });

  it('says why a destination skips, and names the wrong fields of an invalid webhook', async () => {
    const config = await configFile();
    const transfer = await ferry('preview', '--config', config, await writeJson('transfer.json', webhookBody('transfer')));
    expect(transfer.stdout).toMatch(/^clevertap-main \(clevertap\): skipped, transfer_not_supported: /m);
    const invalid = await ferry('preview', '--config', config, await writeJson('bad.json', { event: { id: 'x', event_timestamp_ms: 1 } }));
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toBe('ferry: invalid webhook:\n  event.type: required\n');
    const notJson = await ferry('preview', '--config', config, await writeJson('not.json', 'nope'));
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/not\.json is not valid JSON/);
  });

  it('--source parses the webhook as coming through that source, its route skips shown with their reason', async () => {
    const settings = { endpoint: 'http://127.0.0.1:9', accountId: ACCOUNT_ID, passcode: PASSCODE };
    const config = await writeJson(
      'routes.json',
      testConfig(dir.path, {
        sources: [
          { id: 'ios', plugin: 'revenuecat', settings: {} },
          { id: 'android', plugin: 'revenuecat', settings: {} },
        ],
        destinations: [{ id: 'ct-ios', plugin: 'clevertap', settings, sources: ['ios'] }],
      }),
    );
    const webhook = await writeJson('webhook.json', webhookBody('renewal'));
    const byDefault = await ferry('preview', '--config', config, webhook);
    expect(byDefault.stdout).toMatch(/, source ios$/m);
    expect(byDefault.stdout).toMatch(/^ct-ios \(clevertap\): 1 request\(s\)$/m);
    const android = await ferry('preview', '--config', config, '--source', 'android', webhook);
    expect(android).toMatchObject({ code: 0, stderr: '' });
    expect(android.stdout).toMatch(/^ct-ios \(clevertap\): skipped, route: source android is not routed to ct-ios$/m);
    const unknown = await ferry('preview', '--config', config, '--source', 'nope', webhook);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('ferry: invalid preview request:\n  source: unknown source "nope"; configured sources: ios, android\n');
  });

  it('uses the example config when there is none, where CleverTap waits for credentials', async () => {
    const run = await ferry('preview', await writeJson('webhook.json', webhookBody('renewal')));
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/previewing with the example/);
    expect(run.stdout).toMatch(/^clevertap-main \(clevertap\): paused, settings\.accountId and settings\.passcode are not set$/m);
  });
});

describe('ferry config', () => {
  it('check names every problem with its path and exits 1', async () => {
    const config = await writeJson('bad.json', {
      server: { port: 'eighty' },
      destinations: [{ id: 'ct', plugin: 'clevertap', settings: { region: 'mars1', passcode: '${NOT_SET}' } }],
    });
    const run = await ferry('config', 'check', '--config', config);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toEqual(
      expect.arrayContaining([
        `ferry: invalid config ${config}:`,
        'destinations[0].settings.passcode: environment variable NOT_SET is not set',
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^destinations\[0\]\.settings\.region: unknown region "mars1"/),
      ]),
    );
  });

  it('check accepts a good config and lists what is missing', async () => {
    const run = await ferry('config', 'check', '--config', await configFile(undefined, 'good.json'));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `config OK: ${path.join(dir.path, 'good.json')}\nsources: revenuecat (revenuecat)\ndestinations: clevertap-main (clevertap)\n`,
    );
    const example = await ferry('config', 'check');
    expect(example.stdout).toMatch(/^note: destination clevertap-main cannot send yet/m);
  });

  it('check warns, without failing, of a route that can never match, naming its path', async () => {
    const settings = { endpoint: 'http://127.0.0.1:9', accountId: ACCOUNT_ID, passcode: PASSCODE };
    const config = testConfig(dir.path, {
      sources: [
        { id: 'ios', plugin: 'revenuecat', settings: {} },
        { id: 'android', plugin: 'revenuecat', settings: {} },
      ],
      destinations: [
        { id: 'ct', plugin: 'clevertap', settings, sources: ['ios'], filter: { kinds: ['renewal', 'subscription_paused'] } },
        { id: 'amp', plugin: 'amplitude', settings: {}, filter: { environments: ['PRODUCTION'], kinds: ['renewal'] } },
      ],
    });
    const run = await ferry('config', 'check', '--config', await writeJson('routes.json', config));
    expect(run.code).toBe(0);
    const warnings = run.stdout.split('\n').filter((line) => line.startsWith('warning: '));
    expect(warnings).toEqual([
      expect.stringMatching(/^warning: destinations\[0\]\.filter\.kinds: clevertap does not take subscription_paused \(it takes /),
    ]);
    expect(run.stdout).toMatch(/^sources: ios \(revenuecat\), android \(revenuecat\)$/m);
    // A route naming a source that is not configured is an error, not a warning.
    const misspelt = { ...config, destinations: [{ id: 'ct', plugin: 'clevertap', settings, sources: ['iso'] }] };
    const refused = await ferry('config', 'check', '--config', await writeJson('misspelt.json', misspelt));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('destinations[0].sources[0]: unknown source "iso"; configured sources: ios, android');
  });

  it('schema prints a JSON Schema with the plugin settings', async () => {
    const run = await ferry('config', 'schema');
    const schema = JSON.parse(run.stdout);
    expect(schema.$schema).toMatch(/json-schema\.org/);
    const clevertap = schema.properties.destinations.items.oneOf.find(
      (item: { properties: { plugin: { const: string } } }) => item.properties.plugin.const === 'clevertap',
    );
    expect(clevertap.properties.settings.properties).toHaveProperty('region');
  });
});

describe('calling it wrongly', () => {
  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [[], 'no command given'],
    [['events', 'purge'], 'unknown command "events purge"; try: events list, events show'],
    [['events', 'list', '--colour', 'red'], 'unknown flag --colour for "events list"'],
    [['events', 'show'], '"events show" needs EVENT_ID'],
    [['destinations', 'extra'], '"destinations" takes no argument, got "extra"'],
    [['preview', '--config'], "Option '--config <value>' argument missing (preview)"],
  ])('%j exits 2 naming the problem', async (argv, message) => {
    const run = await ferry(...argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`ferry: ${message}\nRun "npm run ferry -- help" for usage.\n`);
  });

  it('help lists every command', async () => {
    const run = await ferry('help');
    expect(run.code).toBe(0);
    for (const command of [
      'preview',
      'config check',
      'config schema',
      'events list',
      'events show',
      'deliveries list',
      'destinations',
      'sources',
      'replay',
      'orphans',
      'orphans drop',
      'orphans reassign',
      'erase',
    ]) {
      expect(run.stdout).toContain(`  ${command}`);
    }
  });
});

describe('store commands beside a running runner', () => {
  let fake: FakeCleverTap;
  afterEach(() => fake?.close());

  it('list, show, report destinations and replay with progress', async () => {
    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, discardedEvents: ['rc_renewal_event'] });
    const config = testConfig(dir.path, { destinations: [clevertapDestination(fake)] });
    const file = await writeJson('ferry.config.json', config);
    const t = await startTestRunner(config);
    try {
      for (const name of ['initial_purchase', 'renewal', 'transfer'] as const) await t.postWebhook(webhookBody(name));
      const renewalId = fixture('renewal').webhook.event.id as string;
      await waitFor('the renewal to die', async () => (await t.runner.store.log.getEvent(renewalId))?.deliveries[0].state === 'dead');

      const events = await ferry('events', 'list', '--config', file);
      expect(events.code).toBe(0);
      const [header, ...rows] = events.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^RECEIVED\s+ID\s+SOURCE\s+TYPE\s+KIND\s+USER\s+ENV\s+DELIVERIES$/);
      expect(rows).toHaveLength(3);
      expect(rows.every((row) => /^\S+\s+\S+\s+revenuecat\s/.test(row))).toBe(true);
      expect(rows.find((row) => row.includes(renewalId))).toMatch(/\sclevertap-main:dead$/);
      expect((await ferry('events', 'list', '--config', file, '--source', 'revenuecat')).stdout.trimEnd().split('\n')).toHaveLength(4);
      expect((await ferry('events', 'list', '--config', file, '--source', 'android')).stdout).toBe('no events\n');
      const badSource = await ferry('events', 'list', '--config', file, '--source', 'not a source');
      expect(badSource).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ {2}source: /m) });
      const sources = await ferry('sources', '--config', file);
      expect(sources).toMatchObject({ code: 0 });
      expect(sources.stdout.split('\n').slice(0, 2)).toEqual([
        expect.stringMatching(/^ID\s+PLUGIN\s+WEBHOOK PATH\s+STORED EVENTS$/),
        expect.stringMatching(/^revenuecat\s+revenuecat\s+\/webhooks\/revenuecat\s+3$/),
      ]);
      expect((await ferry('events', 'list', '--config', file, '--type', 'RENEWAL', '--json')).stdout).toContain(renewalId);

      const dead = await ferry('deliveries', 'list', '--config', file, '--state', 'dead', '--json');
      const [delivery] = JSON.parse(dead.stdout).deliveries;
      expect(delivery).toMatchObject({ eventId: renewalId, state: 'dead', attempts: 1 });

      const shown = await ferry('events', 'show', '--config', file, renewalId);
      expect(shown.stdout).toMatch(new RegExp(`^delivery ${delivery.id} → clevertap-main: dead, 1 attempt\\(s\\)$`, 'm'));
      expect(shown.stdout).toMatch(/^ {2}#1 \S+ {2}rejected {2}HTTP 200 /m);
      expect((await ferry('events', 'show', '--config', file, 'nope')).code).toBe(1);

      const destinations = await ferry('destinations', '--config', file);
      expect(destinations.stdout.split('\n')[1]).toMatch(/^clevertap-main\s+clevertap\s+running\s+0\s+0\s+0\s+1\s+1\s+1/);

      const replay = await ferry('replay', '--config', file, '--id', delivery.id);
      expect(replay).toEqual({ code: 0, stdout: 'replayed 1 delivery\n', stderr: expect.stringContaining('replayed 1…') });
      await waitFor('the runner to retry it', async () => (await t.runner.store.log.getEvent(renewalId))?.deliveries[0].attempts === 2);

      const badFlag = await ferry('replay', '--config', file, '--state', 'pending', '--event', renewalId);
      expect(badFlag.code).toBe(2);
      expect(badFlag.stderr).toMatch(/^ {2}state\[0\]: /m);
      const badLimit = await ferry('events', 'list', '--config', file, '--limit', 'lots');
      expect(badLimit).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ {2}limit: /m) });

      const userId = fixture('renewal').webhook.event.app_user_id as string;
      const erased = await ferry('erase', '--config', file, '--user', userId);
      expect(erased).toMatchObject({ code: 0, stdout: expect.stringMatching(/^erased [1-9]\d* events?\n$/) });
      expect(await t.runner.store.log.getEvent(renewalId)).toBeUndefined();
      expect(JSON.parse((await ferry('erase', '--config', file, '--user', userId, '--json')).stdout)).toEqual({ erased: 0 });
      expect(await ferry('erase', '--config', file)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ {2}user: /m) });

      for (const run of [events, sources, dead, shown, destinations, replay, erased]) {
        for (const secret of SECRETS) expect(run.stdout + run.stderr).not.toContain(secret);
      }
    } finally {
      await t.runner.close();
    }
  });
});
