import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/** Who holds a lock: written into the lock file, shown when another runner is refused. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
}

/** Lock files this process holds, so a second runner in the same process is refused too. */
const heldHere = new Set<string>();

/** Thrown when another live runner holds the store. */
export class StoreLockedError extends Error {
  constructor(database: string, lockFile: string, owner: LockOwner) {
    super(
      `another runner (pid ${owner.pid} on ${owner.host}) already uses the SQLite store ${database}: ` +
        `one SQLite file takes one runner (use postgres:// to run several). If that process is gone, delete ${lockFile}`,
    );
    this.name = 'StoreLockedError';
  }
}

/**
 * Makes the runner the only one on a SQLite file: `<file>.lock` holds its pid and host. At start a runner
 * releases every lease it finds as its own crashed predecessor's, so a second one would hand the first's
 * live deliveries out again. A lock whose process no longer runs on this host is stale (a crash) and
 * taken over at once. The CLI takes no lock: it works beside a running runner.
 * Returns the release function (idempotent).
 */
export function lockSqliteStore(database: string): () => void {
  const lockFile = `${path.resolve(database)}.lock`;
  const me: LockOwner = { pid: process.pid, host: hostname() };
  // Owner-only, as the store's files: it names the host and process.
  mkdirSync(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    if (heldHere.has(lockFile)) throw new StoreLockedError(database, lockFile, me);
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      heldHere.add(lockFile);
      return () => {
        if (!heldHere.delete(lockFile)) return;
        try {
          unlinkSync(lockFile);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
    }
    const owner = readOwner(lockFile);
    if (owner && isAlive(owner, me)) throw new StoreLockedError(database, lockFile, owner);
    // Stale: moved aside atomically, so of two runners starting at once only one takes it over.
    try {
      renameSync(lockFile, `${lockFile}.stale`);
      unlinkSync(`${lockFile}.stale`);
    } catch {
      // another runner moved it first: try again
    }
  }
}

/** The lock file's owner, or undefined when it is unreadable (a crash while writing it). */
function readOwner(lockFile: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(lockFile, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? { pid: owner.pid, host: owner.host } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the owner may still be running. Another host's process cannot be checked, so it counts as
 * alive; our own pid is a predecessor's (a restarted container reuses pids), since this process's
 * locks are in `heldHere`.
 */
function isAlive(owner: LockOwner, me: LockOwner): boolean {
  if (owner.host !== me.host) return true;
  if (owner.pid === me.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The runner's hold on its store while it runs: a SQLite file takes one runner; Postgres takes many and needs none. */
export interface StoreLock {
  acquire(): void;
  /** Idempotent, and nothing to do before `acquire`. */
  release(): void;
}

export function storeLockFor(storeUrl: string): StoreLock {
  let release = () => {};
  return {
    acquire: () => {
      if (storeUrl.startsWith('sqlite:')) release = lockSqliteStore(storeUrl.slice('sqlite:'.length));
    },
    release: () => release(),
  };
}
