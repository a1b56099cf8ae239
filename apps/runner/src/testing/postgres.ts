import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * The Postgres a spec file runs on (DATABASE_URL), or undefined when its suite must skip. Under CI=true a
 * missing DATABASE_URL adds a failing test instead, so CI never goes green with the Postgres tests skipped.
 */
export function postgresFor(suite: string): string | undefined {
  const url = process.env.DATABASE_URL;
  if (url) return url;
  if (process.env.CI === 'true') {
    test(`${suite}: runs under CI`, () => {
      throw new Error(`${suite} needs DATABASE_URL under CI=true (.ci/run starts one with tools/pg-throwaway.sh)`);
    });
  } else {
    console.warn(`${suite} skipped: DATABASE_URL is not set (start one with tools/pg-throwaway.sh)`);
  }
  return undefined;
}

/** A schema of its own on the test Postgres, so runs and spec files never see each other's tables. */
export interface TestSchema {
  readonly name: string;
  /** A store URL whose tables live in this schema. */
  readonly url: string;
  /** Drops the schema with everything in it; close the stores on it first. */
  drop(): Promise<void>;
}

export async function createTestSchema(databaseUrl: string, prefix: string): Promise<TestSchema> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create schema ${name}`);
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: url.toString(),
    async drop() {
      try {
        await admin.query(`drop schema if exists ${name} cascade`);
      } finally {
        await admin.end();
      }
    },
  };
}
