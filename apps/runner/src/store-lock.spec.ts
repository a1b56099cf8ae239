import { spawnSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { lockSqliteStore } from './store-lock';
import { ADMIN_TOKEN, clevertapDestination, send, testConfig, waitFor } from './testing/harness';
import { CLI, MAIN, childProcessBed, postWebhookTo, probeWebhook } from './testing/processes';

const bed = childProcessBed();

/** The pid of a process that has exited: no process runs under it (for a while at least). */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();

describe('one SQLite file', () => {
  it('takes one runner: a second is refused naming the file and the pid, and the first keeps its leases', async () => {
    const database = path.join(bed.dir.path, 'ferry.db');
    const file = path.join(bed.dir.path, 'ferry.config.json');
    // An hour-long lease and a request CleverTap holds: the first runner has a delivery in flight throughout.
    await writeFile(
      file,
      JSON.stringify(
        testConfig(bed.dir.path, {
          destinations: [clevertapDestination(bed.fake, {}, { timeoutMs: 600_000 })],
          delivery: { leaseMs: 3_600_000 },
        }),
      ),
    );
    bed.fake.inject({ type: 'hang' });
    const first = bed.run(MAIN, '--config', file);
    const url = await first.url();
    expect((await postWebhookTo(url, probeWebhook('held'))).status).toBe(200);
    await waitFor('a delivery in flight at CleverTap', () => bed.fake.requests().some((request) => request.fault === 'hang'));

    const second = bed.run(MAIN, '--config', file);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr).toContain(`another runner (pid ${first.pid} on ${hostname()}) already uses the SQLite store ${database}`);
    expect(second.stderr).toContain(`delete ${database}.lock`);

    const held = await send('GET', `${url}/admin/events/held`, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(held.json.deliveries[0]).toMatchObject({ state: 'in_flight' });
    expect(bed.fake.records()).toEqual([]); // nobody sent it a second time
    // The CLI takes no lock: admin commands work beside the running runner.
    const cli = bed.run(CLI, 'events', 'show', 'held', '--config', file);
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout).toContain('in_flight');

    // A crash leaves the lock behind: the next runner takes it over at once.
    first.kill('SIGKILL');
    await first.exited;
    const third = bed.run(MAIN, '--config', file);
    await third.url();
  });
});

describe('lockSqliteStore', () => {
  it('takes over a stale lock (its process is gone), and refuses a live or foreign one until released', async () => {
    const database = path.join(bed.dir.path, 'nested', 'ferry.db');
    const lockFile = `${database}.lock`;
    const release = lockSqliteStore(database);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toEqual({ pid: process.pid, host: hostname() });
    // Owner-only, as the store's own files, in the folder it created.
    expect((await stat(lockFile)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(database))).mode & 0o777).toBe(0o700);
    // A second runner in this process is refused too.
    expect(() => lockSqliteStore(database)).toThrow(`pid ${process.pid}`);
    release();
    release();

    await writeFile(lockFile, JSON.stringify({ pid: Number(deadPid()), host: hostname() }));
    lockSqliteStore(database)();
    await writeFile(lockFile, 'half-written {');
    lockSqliteStore(database)();

    // Another host's process cannot be checked: the operator decides.
    await writeFile(lockFile, JSON.stringify({ pid: 1, host: 'elsewhere.example' }));
    expect(() => lockSqliteStore(database)).toThrow(
      `another runner (pid 1 on elsewhere.example) already uses the SQLite store ${database}`,
    );
  });
});
