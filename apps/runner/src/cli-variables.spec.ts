import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { webhookBody } from '@ferry/testkit';
import { ACCOUNT_ID, PASSCODE, runFerryWithEnv, tempDir, type CliRun, type TempDir } from './testing/harness';

// A command-line call resolves the `${VAR}`s of the config sections it reads only: a cron backup or an
// events list on a server must not need the admin token, the webhook secret or the CleverTap passcode.

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const ferry = (env: NodeJS.ProcessEnv, ...argv: string[]): Promise<CliRun> => runFerryWithEnv(dir.path, env, ...argv);

/** A deployment's config: every secret from the environment, as deploy/ferry.config.container.json has it. */
async function configFile(store: string): Promise<string> {
  const file = path.join(dir.path, 'ferry.config.json');
  const config = {
    server: { host: '127.0.0.1', port: 0, adminToken: '${FERRY_ADMIN_TOKEN}' },
    store: { url: store },
    sources: { revenuecat: { authorization: '${RC_WEBHOOK_AUTHORIZATION}' } },
    destinations: [
      {
        id: 'clevertap-main',
        plugin: 'clevertap',
        settings: { endpoint: 'http://127.0.0.1:9', accountId: '${CLEVERTAP_ACCOUNT_ID}', passcode: '${CLEVERTAP_PASSCODE}' },
      },
    ],
    alerts: { targets: [{ url: '${ALERT_URL}', format: 'slack' }] },
    retention: { days: '${RETENTION_DAYS}' },
  };
  await writeFile(file, JSON.stringify(config));
  return file;
}

const CLEVERTAP_ENV = { CLEVERTAP_ACCOUNT_ID: ACCOUNT_ID, CLEVERTAP_PASSCODE: PASSCODE };
/** What reading the destinations takes: their variables, and the sources' (a route names sources, a webhook comes through one). */
const DESTINATIONS_ENV = { ...CLEVERTAP_ENV, RC_WEBHOOK_AUTHORIZATION: 'Bearer cli-hook-secret-8b3e5d' };

/** The config problems a failed run printed, without the heading naming the file. */
const problems = (run: CliRun) => run.stderr.trimEnd().split('\n').slice(1);

describe('a command needs only the variables of what it reads', () => {
  it('events list and backup read the store only: no secret variable is needed', async () => {
    const config = await configFile(`sqlite:${path.join(dir.path, 'ferry.db')}`);
    expect(await ferry({}, 'events', 'list', '--config', config)).toMatchObject({ code: 0, stderr: '' });
    expect(await ferry({}, 'deliveries', 'list', '--config', config, '--json')).toMatchObject({ code: 0, stderr: '' });
    const backup = await ferry({}, 'backup', '--config', config, 'backups/nightly.db');
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(path.join(dir.path, 'backups/nightly.db'))).toBe(true);
  });

  it('a store read from a variable must have it, named with its path', async () => {
    const config = await configFile('${FERRY_STORE_URL}');
    const backup = await ferry({}, 'backup', '--config', config, 'nightly.db');
    expect(backup.code).toBe(1);
    expect(problems(backup)).toEqual(['store.url: environment variable FERRY_STORE_URL is not set']);
    const list = await ferry({ FERRY_STORE_URL: `sqlite:${path.join(dir.path, 'other.db')}` }, 'events', 'list', '--config', config);
    expect(list).toMatchObject({ code: 0, stderr: '' });
  });

  it("preview reads the sources and destinations: their variables only, not the store's or the server's", async () => {
    const config = await configFile('${FERRY_STORE_URL}');
    const webhook = path.join(dir.path, 'webhook.json');
    await writeFile(webhook, webhookBody('initial_purchase'));
    const missing = await ferry({}, 'preview', '--config', config, webhook);
    expect(missing.code).toBe(1);
    expect(problems(missing)).toEqual([
      'sources.revenuecat.authorization: environment variable RC_WEBHOOK_AUTHORIZATION is not set',
      'destinations[0].settings.accountId: environment variable CLEVERTAP_ACCOUNT_ID is not set',
      'destinations[0].settings.passcode: environment variable CLEVERTAP_PASSCODE is not set',
    ]);
    const preview = await ferry(DESTINATIONS_ENV, 'preview', '--config', config, webhook);
    expect(preview).toMatchObject({ code: 0, stderr: '' });
    expect(preview.stdout).toContain(`X-CleverTap-Account-Id: ${ACCOUNT_ID}`);
    expect(preview.stdout).not.toContain(PASSCODE);
  });

  it('commands about destinations read the store and the destinations', async () => {
    const config = await configFile(`sqlite:${path.join(dir.path, 'ferry.db')}`);
    const missing = await ferry({ ...DESTINATIONS_ENV, CLEVERTAP_PASSCODE: undefined }, 'destinations', '--config', config);
    expect(missing.code).toBe(1);
    expect(problems(missing)).toEqual(['destinations[0].settings.passcode: environment variable CLEVERTAP_PASSCODE is not set']);
    const destinations = await ferry(DESTINATIONS_ENV, 'destinations', '--config', config, '--json');
    expect(destinations).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(destinations.stdout).destinations).toEqual([expect.objectContaining({ id: 'clevertap-main', state: 'running' })]);
    // Removed destinations are told apart from configured ones, so the configured one is no orphan.
    expect(await ferry(DESTINATIONS_ENV, 'orphans', 'drop', '--config', config, 'clevertap-main')).toMatchObject({ code: 2 });
  });

  it('config check, like the runner, needs every variable and names each', async () => {
    const config = await configFile('${FERRY_STORE_URL}');
    const check = await ferry(CLEVERTAP_ENV, 'config', 'check', '--config', config);
    expect(check.code).toBe(1);
    expect(problems(check).sort()).toEqual([
      'alerts.targets[0].url: environment variable ALERT_URL is not set',
      'retention.days: environment variable RETENTION_DAYS is not set',
      'server.adminToken: environment variable FERRY_ADMIN_TOKEN is not set',
      'sources.revenuecat.authorization: environment variable RC_WEBHOOK_AUTHORIZATION is not set',
      'store.url: environment variable FERRY_STORE_URL is not set',
    ]);
  });
});
