import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { FILE_MODE, FOLDER_MODE } from './sqlite-files';

/** How long the backup's connection waits for a runner's write to finish before it reads. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * Copies the SQLite store a `sqlite:PATH` URL names to `target` while runners keep writing: VACUUM INTO
 * reads one snapshot (WAL readers never block the writer), so the copy is consistent and compact. It is
 * written beside the target first and renamed, so an interrupted backup never leaves a partial file under
 * that name. The copy is a complete store: point `store.url` at it to restore. Like the store's own files, it
 * is readable by its owner only, and a folder created for it by its owner only. Answers its size in bytes.
 */
export function backupSqliteStore(url: string, target: string): { bytes: number } {
  // Name only the scheme: the rest of a Postgres URL may hold a password.
  if (!url.startsWith('sqlite:')) throw new Error('backup copies a sqlite: store; back a Postgres store up with pg_dump');
  const file = url.slice('sqlite:'.length);
  if (!existsSync(file)) throw new Error(`no SQLite store at ${file}`);
  if (existsSync(target)) throw new Error(`${target} already exists: a backup never overwrites a file`);
  const partial = `${target}.partial`;
  mkdirSync(dirname(target), { recursive: true, mode: FOLDER_MODE });
  rmSync(partial, { force: true });
  // VACUUM INTO fills an empty file as it is, so the copy takes this file's mode rather than SQLite's default.
  closeSync(openSync(partial, 'wx', FILE_MODE));
  const database = new BetterSqlite3(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    database.prepare('VACUUM INTO ?').run(partial);
  } finally {
    database.close();
  }
  renameSync(partial, target);
  return { bytes: statSync(target).size };
}
