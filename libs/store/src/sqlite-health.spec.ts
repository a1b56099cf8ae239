import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger, Store } from '@ferry/core';
import { pending, T0, testEvent } from '@ferry/core/testing';
import { openStore } from './open-store';

/** What the SQLite store does about its own files: who may read them. */

interface Logged {
  readonly level: 'warn' | 'error';
  readonly fields: object;
  readonly message: string;
}

function recordingLogger(into: Logged[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (fields, message) => into.push({ level: 'warn', fields, message }),
    error: (fields, message) => into.push({ level: 'error', fields, message }),
    child: () => logger,
  };
  return logger;
}

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('sqlite store: its files', () => {
  let dir: string;
  let file: string;
  let store: Store | undefined;
  let logged: Logged[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-health-'));
    file = join(dir, 'ferry.db');
    logged = [];
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('creates its folders for the owner alone, and the file, its WAL and shared memory readable by the owner alone', async () => {
    const nested = join(dir, 'data', 'ferry');
    store = await openStore(`sqlite:${join(nested, 'ferry.db')}`);
    await store.ingest(testEvent('e1'), [pending()], T0);
    expect(await modeOf(join(dir, 'data'))).toBe(0o700);
    expect(await modeOf(nested)).toBe(0o700);
    for (const name of ['ferry.db', 'ferry.db-wal', 'ferry.db-shm'])
      expect([name, await modeOf(join(nested, name))]).toEqual([name, 0o600]);
  });

  it('makes files an older version left readable by others owner-only, and says so; leaves an existing folder as it is', async () => {
    store = await openStore(`sqlite:${file}`);
    await store.close();
    await chmod(file, 0o644);
    await chmod(dir, 0o755);
    store = await openStore(`sqlite:${file}`, { logger: recordingLogger(logged) });
    expect(await modeOf(file)).toBe(0o600);
    expect(await modeOf(dir)).toBe(0o755);
    expect(logged).toContainEqual({ level: 'warn', fields: {}, message: `made ${file} readable by its owner only (it was 644)` });
  });

  it('never changes a file that is not a database', async () => {
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'not a database, just some words that fill more than one header of bytes'.repeat(20));
    await chmod(notes, 0o644);
    await expect(openStore(`sqlite:${notes}`)).rejects.toMatchObject({ message: 'file is not a database' });
    expect(await modeOf(notes)).toBe(0o644);
  });
});
