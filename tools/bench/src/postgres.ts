import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const THROWAWAY_SCRIPT = path.resolve(__dirname, '../../pg-throwaway.sh');

/** A Postgres server the bench may create and drop databases on. */
export interface BenchPostgres {
  /** How the report names it (never the URL: it may hold a password). */
  readonly description: string;
  /** A fresh, empty database for one scenario; its URL. */
  freshDatabase(name: string): Promise<string>;
  /** Drops the databases it made and stops a throwaway server. */
  close(): Promise<void>;
}

/**
 * DATABASE_URL's server when set; otherwise a throwaway server from tools/pg-throwaway.sh when Postgres's
 * `initdb` is installed; otherwise undefined (the Postgres rows are skipped).
 */
export async function benchPostgres(env: NodeJS.ProcessEnv = process.env): Promise<BenchPostgres | undefined> {
  if (env.DATABASE_URL) return serverAt(env.DATABASE_URL, 'Postgres at DATABASE_URL', async () => {});
  if (!initdbInstalled()) return undefined;
  // Durable like SQLite's fsynced commits, so the two stores' rows compare like for like.
  const { stdout } = await run('bash', [THROWAWAY_SCRIPT, 'start'], { timeout: 120_000, env: { ...env, PG_THROWAWAY_DURABLE: '1' } });
  const value = (name: string) => new RegExp(`^${name}=(.+)$`, 'm').exec(stdout)?.[1];
  const dataDir = value('PGDATA');
  const url = value('DATABASE_URL');
  if (!dataDir || !url) throw new Error(`tools/pg-throwaway.sh printed no PGDATA/DATABASE_URL: ${stdout}`);
  return serverAt(url, 'throwaway Postgres (tools/pg-throwaway.sh, durable: fsync and synchronous commit on)', async () => {
    await run('bash', [THROWAWAY_SCRIPT, 'stop', dataDir], { timeout: 120_000 });
  });
}

function initdbInstalled(): boolean {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((version) => existsSync(path.join(root, version, 'bin', 'initdb')));
}

function serverAt(baseUrl: string, description: string, stop: () => Promise<void>): BenchPostgres {
  const made = new Set<string>();
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  return {
    description,
    async freshDatabase(name) {
      const database = `ferry_bench_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
      await admin(`drop database if exists ${database} with (force)`);
      await admin(`create database ${database}`);
      made.add(database);
      const url = new URL(baseUrl);
      url.pathname = `/${database}`;
      return url.toString();
    },
    async close() {
      try {
        for (const database of made) await admin(`drop database if exists ${database} with (force)`);
      } finally {
        await stop();
      }
    },
  };
}
