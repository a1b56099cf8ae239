import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** The store's files are its owner's alone: they hold webhook bodies (personal data) and destinations' answers. */
export const FILE_MODE = 0o600;
/** A folder Ferry creates for its files (an existing one is left as it is: it may be shared). */
export const FOLDER_MODE = 0o700;
/** The files SQLite keeps beside a database in WAL mode, named after it. */
const COMPANION_SUFFIXES = ['-wal', '-shm'];

/**
 * Creates what a SQLite store's file lacks before SQLite opens it: its folders, owner-only, and the database
 * file, owner-only, so the WAL and shared-memory files SQLite creates beside it take the same mode.
 */
export function createStoreFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: FOLDER_MODE });
  closeSync(openSync(file, 'a', FILE_MODE));
}

/**
 * Makes the store's files that others may read (an older Ferry created them so) owner-only; run once SQLite
 * has found the file to be a database, so a mistyped path never changes someone else's file. Answers a line
 * for the log per file it changed, or could not change (another user owns it).
 */
export function tightenStoreFiles(file: string): string[] {
  const notes: string[] = [];
  for (const path of [file, ...COMPANION_SUFFIXES.map((suffix) => `${file}${suffix}`)]) {
    const mode = statSync(path, { throwIfNoEntry: false })?.mode;
    if (mode === undefined || (mode & 0o077) === 0) continue;
    const was = (mode & 0o777).toString(8);
    try {
      chmodSync(path, FILE_MODE);
      notes.push(`made ${path} readable by its owner only (it was ${was})`);
    } catch (error) {
      notes.push(`${path} is readable by other users (${was}) and could not be changed: ${(error as Error).message}`);
    }
  }
  return notes;
}

/**
 * The file a path named when the store opened it (device and inode): deleting or replacing that path under a
 * running store leaves the store writing to a file nobody will find again.
 */
export class OpenedFile {
  private readonly device: number;
  private readonly inode: number;

  constructor(readonly path: string) {
    const opened = statSync(path);
    this.device = opened.dev;
    this.inode = opened.ino;
  }

  /** What became of the path since: nothing (the same file), 'deleted' or 'replaced'. One `stat`, a few microseconds. */
  change(): 'deleted' | 'replaced' | undefined {
    const now = statSync(this.path, { throwIfNoEntry: false });
    if (now === undefined) return 'deleted';
    return now.dev === this.device && now.ino === this.inode ? undefined : 'replaced';
  }
}
