import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { z } from 'zod';
import { fixture, startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import { adminApiDocument } from './admin';
import { eraseRequest, eraseUser } from './admin/erasure';
import { ADMIN_COMMANDS, routeCommand } from './cli-admin';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  runFerry,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
} from './testing/harness';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());
afterAll(() => closeHttp());

describe('the admin commands', () => {
  it('each calls a route, and help names it', async () => {
    for (const [name, command] of Object.entries(ADMIN_COMMANDS)) expect([name, command.route]).toEqual([name, expect.anything()]);
    const help = await runFerry(dir.path, 'help');
    expect(help.stdout).toContain('(GET /admin/events)');
    expect(help.stdout).toContain('(POST /admin/destinations/:id/pause)');
  });

  it("take their flags from the route's query or body schema, as its usage says", () => {
    expect(Object.keys(ADMIN_COMMANDS['events list'].options ?? {}).sort()).toEqual(
      [
        'before',
        'config',
        'destination',
        'json',
        'kind',
        'limit',
        'product',
        'since',
        'source',
        'state',
        'type',
        'until',
        'user',
        'userPrefix',
      ].sort(),
    );
    expect(ADMIN_COMMANDS.replay.options).toMatchObject({ id: { type: 'string', multiple: true }, state: { multiple: true } });
    for (const [name, command] of Object.entries(ADMIN_COMMANDS)) {
      for (const flag of Object.keys(command.options ?? {}))
        expect([name, command.usage]).toEqual([name, expect.stringContaining(`--${flag}`)]);
    }
  });

  it('gain a flag with each field the route gains: a boolean is a switch', () => {
    const widened = { ...eraseUser, body: eraseRequest.extend({ destinations: z.boolean().optional() }) };
    const command = routeCommand({ usage: 'erase', summary: '', route: widened, flagNames: { appUserId: 'user' }, text: () => '' });
    expect(command.options).toMatchObject({ user: { type: 'string', multiple: false }, destinations: { type: 'boolean' } });
  });
});

describe('--json', () => {
  let fake: FakeCleverTap;
  afterEach(() => fake?.close());

  it("prints the route's answer, as the OpenAPI document defines it", async () => {
    const document = adminApiDocument();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(document, 'openapi.json');
    /** Runs a command with --json and checks what it printed against its route's answer in the document. */
    const ferry = async (...argv: string[]) => {
      const run = await runFerry(dir.path, ...argv, '--config', file, '--json');
      expect(run).toMatchObject({ code: 0 });
      const command = ADMIN_COMMANDS[argv.slice(0, 2).join(' ')] ?? ADMIN_COMMANDS[argv[0]];
      const route = command.route!;
      const template = `/admin${route.path.replace(/:(\w+)/g, '{$1}')}`;
      const pointer = [
        'paths',
        template,
        route.method.toLowerCase(),
        'responses',
        String(route.status ?? 200),
        'content',
        'application/json',
      ]
        .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
        .join('/');
      const check = ajv.getSchema(`openapi.json#/${pointer}/schema`)!;
      const answer = JSON.parse(run.stdout);
      if (!check(answer)) throw new Error(`${argv.join(' ')}: ${ajv.errorsText(check.errors)}\n${run.stdout}`);
      return answer;
    };

    fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE }, discardedEvents: ['rc_renewal_event'] });
    const config = testConfig(dir.path, { destinations: [clevertapDestination(fake)] });
    const file = path.join(dir.path, 'ferry.config.json');
    await writeFile(file, JSON.stringify(config));
    const webhook = path.join(dir.path, 'webhook.json');
    await writeFile(webhook, webhookBody('initial_purchase'));
    const t = await startTestRunner(config);
    try {
      for (const name of ['initial_purchase', 'renewal'] as const) await t.postWebhook(webhookBody(name));
      const renewalId = fixture('renewal').webhook.event.id as string;
      await waitFor('the renewal to die', async () => (await t.runner.store.log.getEvent(renewalId))?.deliveries[0].state === 'dead');

      expect((await ferry('events', 'list')).events).toHaveLength(2);
      expect((await ferry('events', 'list', '--source', 'revenuecat')).events).toHaveLength(2);
      expect((await ferry('deliveries', 'list', '--source', 'elsewhere')).deliveries).toEqual([]);
      // The command line takes no webhooks: only the stored count is known to it.
      expect(await ferry('sources')).toEqual({
        sources: [
          {
            id: 'revenuecat',
            plugin: 'revenuecat',
            webhookPath: '/webhooks/revenuecat',
            counts: { stored: 2, duplicate: null, rejected: null },
          },
        ],
      });
      expect(await ferry('events', 'show', renewalId)).toMatchObject({ id: renewalId });
      const userId = fixture('renewal').webhook.event.app_user_id as string;
      expect(await ferry('user', userId)).toMatchObject({ userId, events: [{}, {}], destinations: [{ destinationId: 'clevertap-main' }] });
      const [dead] = (await ferry('deliveries', 'list', '--state', 'dead')).deliveries;
      expect(await ferry('destinations')).toMatchObject({ destinations: [{ id: 'clevertap-main' }] });
      expect(await ferry('destinations', 'pause', '--reason', 'maintenance', 'clevertap-main')).toMatchObject({
        destination: { state: 'paused', reason: 'maintenance' },
      });
      expect(await ferry('destinations', 'resume', 'clevertap-main')).toMatchObject({ destination: { state: 'running' } });
      expect(Object.keys(await ferry('destinations', 'check', 'clevertap-main')).sort()).toEqual(['ok', 'reason', 'status']);
      expect(await ferry('replay', '--id', dead.id)).toMatchObject({ job: { state: 'done', replayed: 1 } });
      expect(await ferry('orphans')).toEqual({ orphans: [] });
      expect(await ferry('preview', webhook)).toMatchObject({ destinations: [{ status: 'send' }] });
      expect(await ferry('erase', '--user', fixture('renewal').webhook.event.app_user_id as string)).toEqual({ erased: 2 });
    } finally {
      await t.runner.close();
    }
  });
});
