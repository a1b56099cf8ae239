import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { BenchPostgres } from './postgres';

/** Where a row's store lives: a fresh SQLite file or a fresh Postgres database each time. */
export interface Backend {
  readonly store: 'sqlite' | 'postgres';
  readonly description: string;
  freshStore(name: string): Promise<string>;
}

/** SQLite files in `workDir`, each removed (with its WAL, shared memory and lock) before use. */
export function sqliteBackend(workDir: string): Backend {
  return {
    store: 'sqlite',
    description: 'SQLite file (WAL; every commit on disk before it counts: fsynced, or the WAL fdatasynced before a 200)',
    async freshStore(name) {
      const file = path.join(workDir, `${name}.db`);
      for (const suffix of STORE_FILE_SUFFIXES) rmSync(`${file}${suffix}`, { force: true });
      return `sqlite:${file}`;
    },
  };
}

export function postgresBackend(server: BenchPostgres): Backend {
  return { store: 'postgres', description: server.description, freshStore: (name) => server.freshDatabase(name) };
}

const STORE_FILE_SUFFIXES = ['', '-wal', '-shm', '.lock'];

/** Removes every SQLite store in `workDir`: they are large (a million events is a few GB); the logs stay for reading. */
export function removeSqliteStores(workDir: string): void {
  const stores = readdirSync(workDir, { withFileTypes: true }).filter(
    (entry) => entry.isFile() && /\.db(-wal|-shm|\.lock)?$/.test(entry.name),
  );
  for (const entry of stores) rmSync(path.join(workDir, entry.name), { force: true });
}
