import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '@ferry/store';
import { benchPostgres } from './postgres';
import { DESTINATION_ID } from './payload';
import { round, summarize, type LatencySummary } from './stats';

const USAGE = `Usage: node tools/bench/dist/scrape.js [--sizes 10000,100000,1000000] [--sqlite-only] [--label TEXT]

What a /metrics scrape costs the store as it grows: fills a SQLite file and a Postgres database (DATABASE_URL,
else a throwaway server) straight through SQL to each size, and times the store's stats() (what /metrics,
/admin/destinations and the console overview read) on a freshly opened store. Prints a Markdown table and
writes bench/tmp/scrape-<label>.json.`;

const ROOT = path.resolve(__dirname, '../../..');
const WORK_DIR = path.join(ROOT, 'bench', 'tmp', 'scrape');
/** stats() calls timed at each size, after one unmeasured call. */
const CALLS = 20;
/** Events inserted per statement while filling. */
const FILL_CHUNK = 50_000;

export interface ScrapeRow {
  readonly store: 'SQLite' | 'Postgres';
  readonly events: number;
  readonly stats: LatencySummary;
}

/**
 * Every tenth event's delivery waits (pending, due in the past, or dead), the rest are final: a year of
 * history with a small backlog. Filled by SQL, not `ingest`, so a million events take seconds.
 */
function stateOf(n: string): string {
  return `case ${n} % 20 when 0 then 'pending' when 1 then 'dead' when 2 then 'skipped' else 'delivered' end`;
}

async function fillSqlite(file: string, from: number, to: number): Promise<void> {
  const db = new BetterSqlite3(file);
  try {
    for (let start = from; start < to; start += FILL_CHUNK) {
      const end = Math.min(to, start + FILL_CHUNK);
      const series = `with recursive g(n) as (select ${start} union all select n + 1 from g where n + 1 < ${end})`;
      db.exec(`begin;
        ${series} insert into events (id, source, type, kind, user_id, environment, timestamp_ms, received_at_ms, body, received_seq)
          select 'scrape-' || n, 'revenuecat', 'RENEWAL', 'renewal', 'user-' || (n % 1000), 'production', n, n, '{}', n + 1 from g;
        ${series} insert into deliveries (id, event_id, destination_id, state, attempts, next_attempt_at_ms, window_start_ms, created_at_ms, updated_at_ms)
          select 'delivery-' || n, 'scrape-' || n, '${DESTINATION_ID}', ${stateOf('n')}, 1,
            case when n % 20 = 0 then n else null end, n, n, n from g;
        commit;`);
    }
  } finally {
    db.close();
  }
}

async function fillPostgres(url: string, from: number, to: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let start = from; start < to; start += FILL_CHUNK) {
      const end = Math.min(to, start + FILL_CHUNK) - 1;
      await client.query('begin');
      await client.query(`insert into events (id, source, type, kind, user_id, environment, timestamp_ms, received_at_ms, body, received_seq)
        select 'scrape-' || n, 'revenuecat', 'RENEWAL', 'renewal', 'user-' || (n % 1000), 'production', n, n, '{}', nextval('events_received_seq')
        from generate_series(${start}, ${end}) n`);
      await client.query(`insert into deliveries (id, event_id, destination_id, state, attempts, next_attempt_at_ms, window_start_ms, created_at_ms, updated_at_ms)
        select 'delivery-' || n, 'scrape-' || n, '${DESTINATION_ID}', ${stateOf('n')}, 1,
          case when n % 20 = 0 then n else null end, n, n, n
        from generate_series(${start}, ${end}) n`);
      await client.query('commit');
    }
    await client.query('analyze');
  } finally {
    await client.end();
  }
}

/** Times stats() on a store opened afresh, as a runner that just started would answer its first scrapes. */
async function timeStats(url: string, expectedEvents: number): Promise<LatencySummary> {
  const store = await openStore(url);
  try {
    const first = await store.log.stats(Date.now());
    if (first.events !== expectedEvents) throw new Error(`the store counts ${first.events} events, ${expectedEvents} were filled`);
    const samples: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const started = performance.now();
      await store.log.stats(Date.now());
      samples.push(performance.now() - started);
    }
    return summarize(samples);
  } finally {
    await store.close();
  }
}

async function measure(
  storeName: ScrapeRow['store'],
  url: string,
  sizes: readonly number[],
  fill: (from: number, to: number) => Promise<void>,
): Promise<ScrapeRow[]> {
  // Creates the schema the fill writes into.
  await (await openStore(url)).close();
  const rows: ScrapeRow[] = [];
  let filled = 0;
  for (const size of sizes) {
    const started = performance.now();
    await fill(filled, size);
    filled = size;
    process.stderr.write(`${storeName}: ${size} events filled in ${round((performance.now() - started) / 1000)} s\n`);
    rows.push({ store: storeName, events: size, stats: await timeStats(url, size) });
  }
  return rows;
}

export function renderScrape(rows: readonly ScrapeRow[]): string {
  const lines = ['| store | stored events | stats() p50 ms | p99 ms | max ms |', '|---|--:|--:|--:|--:|'];
  for (const row of rows) lines.push(`| ${row.store} | ${row.events} | ${row.stats.p50Ms} | ${row.stats.p99Ms} | ${row.stats.maxMs} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10000,100000,1000000' },
      'sqlite-only': { type: 'boolean', default: false },
      label: { type: 'string', default: 'scrape' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sizes = values.sizes.split(',').map((size) => Number(size));
  if (sizes.some((size, i) => !Number.isInteger(size) || size <= 0 || (i > 0 && size <= sizes[i - 1]))) {
    throw new Error('--sizes: ascending whole numbers, e.g. 10000,100000');
  }
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const file = path.join(WORK_DIR, 'scrape.db');
  const rows = await measure('SQLite', `sqlite:${file}`, sizes, (from, to) => fillSqlite(file, from, to));
  const postgres = values['sqlite-only'] ? undefined : await benchPostgres();
  if (postgres) {
    try {
      const url = await postgres.freshDatabase('scrape');
      rows.push(...(await measure('Postgres', url, sizes, (from, to) => fillPostgres(url, from, to))));
    } finally {
      await postgres.close();
    }
  }
  writeFileSync(path.join(WORK_DIR, '..', `scrape-${values.label}.json`), JSON.stringify({ at: new Date().toISOString(), rows }, null, 2));
  console.log(renderScrape(rows));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
