import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { webhookBody } from '@ferry/testkit';
import { closeHttp, startTestRunner, tempDir, testConfig, type TempDir, type TestRunner, runFerry } from './testing/harness';

let dir: TempDir;
let running: TestRunner | undefined;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await running?.runner.close();
  running = undefined;
  await dir.remove();
});
afterAll(() => closeHttp());

const ferry = (...argv: string[]) => runFerry(dir.path, ...argv);

async function configFile(store?: string): Promise<string> {
  const file = path.join(dir.path, 'ferry.config.json');
  await writeFile(file, JSON.stringify(testConfig(dir.path, store ? { store: { url: store } } : {})));
  return file;
}

const eventIds = (file: string) => {
  const database = new BetterSqlite3(file, { readonly: true });
  try {
    expect(database.pragma('integrity_check', { simple: true })).toBe('ok');
    return (database.prepare('SELECT id FROM events').all() as { id: string }[]).map((row) => row.id);
  } finally {
    database.close();
  }
};

describe('ferry backup', () => {
  it('copies the SQLite store while the runner keeps taking webhooks, into a consistent store', async () => {
    const config = await configFile();
    running = await startTestRunner(testConfig(dir.path));
    const before = ['b-1', 'b-2', 'b-3'];
    for (const id of before) expect((await running.postWebhook(webhookBody('initial_purchase', { id }))).status).toBe(200);

    // Webhooks keep arriving during the backup; each is either in the copy whole or not at all.
    let writing = true;
    const during = (async () => {
      for (let i = 0; writing; i++) await running?.postWebhook(webhookBody('renewal', { id: `d-${i}` }));
    })();
    const result = await ferry('backup', '--config', config, 'backups/ferry-copy.db');
    writing = false;
    await during;

    expect(result).toMatchObject({ code: 0, stderr: '' });
    const copy = path.join(dir.path, 'backups/ferry-copy.db');
    expect(result.stdout).toContain(`backed up the store to ${copy}`);
    expect(eventIds(copy)).toEqual(expect.arrayContaining(before));
    expect(existsSync(`${copy}.partial`)).toBe(false);
    // The copy holds what the store does: its owner's alone, and so is the folder made for it.
    expect((await stat(copy)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(copy))).mode & 0o777).toBe(0o700);
  });

  it('never overwrites a file, and names what is wrong', async () => {
    const config = await configFile();
    running = await startTestRunner(testConfig(dir.path));
    const target = path.join(dir.path, 'taken.db');
    await writeFile(target, 'keep me');
    expect(await ferry('backup', '--config', config, target)).toMatchObject({
      code: 1,
      stderr: `ferry: ${target} already exists: a backup never overwrites a file\n`,
    });

    expect(await ferry('backup', '--config', config)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('"backup" needs BACKUP_FILE'),
    });
  });

  it('refuses a Postgres store without echoing its URL', async () => {
    const config = await configFile('postgres://ferry:pg-secret-password@127.0.0.1:1/ferry');
    const result = await ferry('backup', '--config', config, 'copy.db');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('back a Postgres store up with pg_dump');
    expect(result.stderr).not.toContain('pg-secret-password');
  });
});
