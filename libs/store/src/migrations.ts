import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './database';
import { userKey } from './user-key';

export type Dialect = 'sqlite' | 'postgres';

interface Migration {
  readonly version: number;
  readonly name: string;
  up(trx: Transaction<Database>, dialect: Dialect): Promise<void>;
}

/** The schema's history, oldest first. Never edit a released migration: append a new one. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, deliveries and attempts',
    async up(trx) {
      await trx.schema
        .createTable('events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('kind', 'text')
        .addColumn('user_id', 'text')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
        .addColumn('received_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await trx.schema
        .createTable('deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull().references('events.id').onDelete('cascade'))
        .addColumn('destination_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at_ms', 'bigint')
        .addColumn('lease_until_ms', 'bigint')
        .addColumn('lease_owner', 'text')
        .addColumn('window_start_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at_ms', 'bigint')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('deliveries_event_destination_key', ['event_id', 'destination_id'])
        .execute();
      await trx.schema
        .createTable('attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('started_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('attempts_pkey', ['delivery_id', 'number'])
        .execute();
      const indexes: Record<string, { table: 'events' | 'deliveries'; columns: string[] }> = {
        // Leasing, nextDueAtMs, setPaused and the oldest-due figure: one destination's rows in one state, by due time.
        deliveries_due_idx: { table: 'deliveries', columns: ['destination_id', 'state', 'next_attempt_at_ms'] },
        // Expired leases and releaseLeases.
        deliveries_lease_idx: { table: 'deliveries', columns: ['state', 'lease_until_ms'] },
        // Listing, newest first, optionally by state or destination.
        deliveries_created_idx: { table: 'deliveries', columns: ['created_at_ms', 'id'] },
        deliveries_state_created_idx: { table: 'deliveries', columns: ['state', 'created_at_ms', 'id'] },
        deliveries_destination_created_idx: { table: 'deliveries', columns: ['destination_id', 'created_at_ms', 'id'] },
        events_received_idx: { table: 'events', columns: ['received_at_ms', 'id'] },
        events_user_idx: { table: 'events', columns: ['user_id', 'received_at_ms', 'id'] },
        events_type_idx: { table: 'events', columns: ['type', 'received_at_ms', 'id'] },
      };
      for (const [name, { table, columns }] of Object.entries(indexes)) {
        await trx.schema.createIndex(name).on(table).columns(columns).execute();
      }
    },
  },
  {
    version: 2,
    name: 'subscription state marks, and the order events were received in',
    async up(trx, dialect) {
      // Postgres numbers events from a sequence (several runners insert at once); SQLite's single writer counts on.
      if (dialect === 'postgres') await sql`create sequence events_received_seq`.execute(trx);
      await trx.schema.alterTable('events').addColumn('received_seq', 'bigint').execute();
      await sql`update events set received_seq = ranked.seq
        from (select id, row_number() over (order by received_at_ms, id) as seq from events) as ranked
        where events.id = ranked.id`.execute(trx);
      if (dialect === 'postgres') {
        await sql`select setval('events_received_seq', (select coalesce(max(received_seq), 0) + 1 from events), false)`.execute(trx);
        await sql`alter table events alter column received_seq set not null`.execute(trx);
      } else {
        // Each SQLite group commit reads the highest number so far.
        await trx.schema.createIndex('events_received_seq_idx').on('events').column('received_seq').execute();
      }
      await trx.schema
        .createTable('subscription_state_marks')
        .addColumn('destination_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
        .addColumn('received_seq', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('subscription_state_marks_pkey', ['destination_id', 'user_id'])
        .execute();
    },
  },
  {
    version: 3,
    name: 'destination pauses, shared by every runner',
    async up(trx) {
      await trx.schema
        .createTable('destination_pauses')
        .addColumn('destination_id', 'text', (c) => c.primaryKey())
        .addColumn('cause', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('since_ms', 'bigint', (c) => c.notNull())
        .addColumn('set_by', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 4,
    name: 'count interrupted attempts of each delivery',
    async up(trx) {
      await trx.schema
        .alterTable('deliveries')
        .addColumn('interruptions', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  {
    version: 5,
    name: 'alert claims, so each alert is sent by one runner',
    async up(trx) {
      await trx.schema
        .createTable('alert_claims')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('claimed_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 6,
    name: 'delivery and event counts kept by triggers, so a scrape reads O(states) rows',
    async up(trx, dialect) {
      // Every write path counts, retention and erasure deletes (cascades included) too, whatever code issues them.
      if (dialect === 'postgres') {
        // No writer may commit between the backfill and the triggers: it would go uncounted.
        await sql`lock table events, deliveries in share mode`.execute(trx);
      }
      await trx.schema
        .createTable('delivery_counts')
        .addColumn('destination_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('slot', 'bigint', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('delivery_counts_pkey', ['destination_id', 'state', 'slot'])
        .execute();
      await trx.schema
        .createTable('event_counts')
        .addColumn('slot', 'bigint', (c) => c.primaryKey())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into delivery_counts (destination_id, state, slot, count)
        select destination_id, state, 0, count(*) from deliveries group by destination_id, state`.execute(trx);
      await sql`insert into event_counts (slot, count) select 0, count(*) from events`.execute(trx);
      for (const statement of dialect === 'postgres' ? POSTGRES_COUNT_TRIGGERS : SQLITE_COUNT_TRIGGERS)
        await sql.raw(statement).execute(trx);
    },
  },
  {
    version: 7,
    name: 'event users: every user id an event names, for erasure',
    async up(trx) {
      await trx.schema
        .createTable('event_users')
        .addColumn('user_key', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull().references('events.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('event_users_pkey', ['user_key', 'event_id'])
        .execute();
      // Removing an event removes its rows here.
      await trx.schema.createIndex('event_users_event_idx').on('event_users').column('event_id').execute();
      await backfillEventUsers(trx);
    },
  },
  {
    version: 8,
    name: 'leaner ingest and leasing: the due index ends in the delivery id, one listing index fewer, event_users without rowids',
    async up(trx, dialect) {
      // A lease reads its batch in (due time, id) order straight from the index instead of sorting the backlog.
      await trx.schema.dropIndex('deliveries_due_idx').execute();
      await trx.schema
        .createIndex('deliveries_due_idx')
        .on('deliveries')
        .columns(['destination_id', 'state', 'next_attempt_at_ms', 'id'])
        .execute();
      // Destinations are few: listing one's deliveries walks deliveries_created_idx; every ingest saved an index entry.
      await trx.schema.dropIndex('deliveries_destination_created_idx').execute();
      if (dialect === 'sqlite') {
        // SQLite: the primary key is the table, one B-tree less to write per user id of every event.
        await sql`create table event_users_keyed (user_key text not null, event_id text not null references events (id) on delete cascade,
          primary key (user_key, event_id)) without rowid`.execute(trx);
        await sql`insert into event_users_keyed (user_key, event_id) select user_key, event_id from event_users`.execute(trx);
        await trx.schema.dropTable('event_users').execute();
        await sql`alter table event_users_keyed rename to event_users`.execute(trx);
        await trx.schema.createIndex('event_users_event_idx').on('event_users').column('event_id').execute();
      }
    },
  },
  {
    version: 9,
    name: 'alert outbox: an alert is kept until each target is done with it; old claims are pruned',
    async up(trx) {
      await trx.schema
        .createTable('alert_outbox')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('target', 'integer', (c) => c.notNull())
        .addColumn('alert', 'text', (c) => c.notNull())
        .addColumn('claimed_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('lease_until_ms', 'bigint')
        .addPrimaryKeyConstraint('alert_outbox_pkey', ['key', 'target'])
        .execute();
      // Each runner's periodic hold finds its own rows.
      await trx.schema.createIndex('alert_outbox_owner_idx').on('alert_outbox').columns(['owner', 'claimed_at_ms']).execute();
      // Pruning finds old claims by time.
      await trx.schema.createIndex('alert_claims_claimed_idx').on('alert_claims').column('claimed_at_ms').execute();
    },
  },
  {
    version: 10,
    name: 'subscription state marks per destination profile: the accepted state, the claim in flight, the users that reached it',
    async up(trx, dialect) {
      // The old per-user marks stay (migrations only add, and older runners may still write them during a
      // rolling upgrade): each profile first seen from now on starts from them (state-marks.ts).
      const withoutRowid = <T extends { modifyEnd(modifier: ReturnType<typeof sql>): T }>(table: T) =>
        dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table;
      await withoutRowid(
        trx.schema
          .createTable('profile_state_marks')
          .addColumn('destination_id', 'text', (c) => c.notNull())
          .addColumn('profile_key', 'text', (c) => c.notNull())
          .addColumn('accepted_timestamp_ms', 'bigint')
          .addColumn('accepted_received_seq', 'bigint')
          .addColumn('claim_delivery_id', 'text')
          .addColumn('claim_timestamp_ms', 'bigint')
          .addColumn('claim_received_seq', 'bigint')
          .addPrimaryKeyConstraint('profile_state_marks_pkey', ['destination_id', 'profile_key']),
      ).execute();
      await withoutRowid(
        trx.schema
          .createTable('profile_state_users')
          .addColumn('destination_id', 'text', (c) => c.notNull())
          .addColumn('profile_key', 'text', (c) => c.notNull())
          .addColumn('user_key', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('profile_state_users_pkey', ['destination_id', 'profile_key', 'user_key']),
      ).execute();
      // Erasure: the profiles a customer's user keys reached.
      await trx.schema.createIndex('profile_state_users_user_idx').on('profile_state_users').column('user_key').execute();
    },
  },
  {
    version: 11,
    name: 'events by source: the source filter of listings and the stored count per source',
    async up(trx) {
      // Without it a listing of a rare or unknown source walks every event (3 s at a million on SQLite), and
      // counting per source reads every row, bodies included (3.7 s); with it, a page is ~1 ms and the counts 0.12 s.
      await trx.schema.createIndex('events_source_idx').on('events').columns(['source', 'received_at_ms', 'id']).execute();
    },
  },
  {
    version: 12,
    name: 'erasure jobs: a customer erased at each destination, retried until done',
    async up(trx) {
      await trx.schema
        .createTable('erasure_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('destination_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('identity_count', 'integer', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_step', 'integer', (c) => c.notNull())
        .addColumn('steps', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at_ms', 'bigint')
        .addColumn('last_answer', 'text')
        .addColumn('window_start_ms', 'bigint', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('lease_until_ms', 'bigint')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      // The worker's take: due pending jobs by due time.
      await trx.schema.createIndex('erasure_jobs_due_idx').on('erasure_jobs').columns(['state', 'next_attempt_at_ms']).execute();
      // The listing, newest first (few rows: one per erasure and destination).
      await trx.schema.createIndex('erasure_jobs_created_idx').on('erasure_jobs').columns(['created_at_ms', 'id']).execute();
    },
  },
  {
    version: 13,
    name: 'the product of each event, for the listings',
    async up(trx) {
      // No backfill: events stored before keep a null product, and a listing by product does not find them (their
      // bodies still name it). Reading every body back would make the upgrade as long as the store is big.
      await trx.schema.alterTable('events').addColumn('product_id', 'text').execute();
      // A listing by product, newest first, reads its range of this index.
      await trx.schema.createIndex('events_product_idx').on('events').columns(['product_id', 'received_at_ms', 'id']).execute();
    },
  },
  {
    version: 14,
    name: 'activity: per-minute counts of webhooks received, deliveries delivered and failed, and the backlog sampled',
    async up(trx, dialect) {
      // Keyed by minute first: the chart's read and retention's prune are both ranges of minutes.
      const table = trx.schema
        .createTable('activity_minutes')
        .addColumn('minute_ms', 'bigint', (c) => c.notNull())
        .addColumn('series', 'text', (c) => c.notNull())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('activity_minutes_pkey', ['minute_ms', 'series']);
      await (dialect === 'sqlite' ? table.modifyEnd(sql`without rowid`) : table).execute();
    },
  },
  {
    version: 15,
    name: 'leaner ingest and drain: no lease index, and SQLite ingest counts its rows once per commit',
    async up(trx, dialect) {
      // In-flight deliveries are few (a batch per destination's concurrency): every query that wants them finds them
      // by state through deliveries_state_created_idx or deliveries_due_idx. The lease index cost every ingest an
      // entry and every lease and outcome two moves.
      await trx.schema.dropIndex('deliveries_lease_idx').execute();
      if (dialect === 'sqlite') {
        // Only ingest inserts events and deliveries: it adds a whole group commit's counts in a statement or two
        // (IngestStatements) instead of a trigger's two statements per row. Updates and deletes stay counted by triggers.
        await sql`drop trigger deliveries_counted_insert`.execute(trx);
        await sql`drop trigger events_counted_insert`.execute(trx);
      }
    },
  },
];

/**
 * SQLite has one writer: row triggers keep one counter row (slot 0) per destination and state (inserts are counted
 * by ingest itself since migration 15).
 */
const SQLITE_COUNT_TRIGGERS = [
  `create trigger deliveries_counted_insert after insert on deliveries begin
    insert into delivery_counts (destination_id, state, slot, count) values (new.destination_id, new.state, 0, 1)
      on conflict (destination_id, state, slot) do update set count = count + 1;
  end`,
  `create trigger deliveries_counted_update after update of destination_id, state on deliveries
    when old.destination_id <> new.destination_id or old.state <> new.state begin
    update delivery_counts set count = count - 1 where destination_id = old.destination_id and state = old.state and slot = 0;
    insert into delivery_counts (destination_id, state, slot, count) values (new.destination_id, new.state, 0, 1)
      on conflict (destination_id, state, slot) do update set count = count + 1;
  end`,
  `create trigger deliveries_counted_delete after delete on deliveries begin
    update delivery_counts set count = count - 1 where destination_id = old.destination_id and state = old.state and slot = 0;
  end`,
  `create trigger events_counted_insert after insert on events begin
    update event_counts set count = count + 1 where slot = 0;
  end`,
  `create trigger events_counted_delete after delete on events begin
    update event_counts set count = count - 1 where slot = 0;
  end`,
];

/** A trigger function adding the statement's `changes` (destination_id, state, delta) to this connection's counters. */
function countFunction(name: string, changes: string): string {
  return `create function ${name}() returns trigger language plpgsql as $$
    begin
      insert into delivery_counts (destination_id, state, slot, count)
        select destination_id, state, pg_backend_pid(), sum(delta) from (${changes}) as changes
        group by destination_id, state having sum(delta) <> 0
        order by destination_id, state
        on conflict (destination_id, state, slot) do update set count = delivery_counts.count + excluded.count;
      return null;
    end $$`;
}

/**
 * Postgres: statement triggers add one row per destination and state a statement changed (not one per
 * delivery), to the counter rows of the writing connection (slot = its backend pid). Two transactions in
 * progress never share a connection, so runners ingesting at once never wait on each other's counters, and
 * cannot deadlock on them. `SqlStore` folds the slots of connections that ended into slot 0.
 */
const POSTGRES_COUNT_TRIGGERS = [
  countFunction('ferry_count_inserted_deliveries', 'select destination_id, state, 1 as delta from new_rows'),
  countFunction('ferry_count_deleted_deliveries', 'select destination_id, state, -1 as delta from old_rows'),
  countFunction(
    'ferry_count_updated_deliveries',
    'select destination_id, state, 1 as delta from new_rows union all select destination_id, state, -1 from old_rows',
  ),
  `create function ferry_count_events() returns trigger language plpgsql as $$
  declare
    delta bigint;
  begin
    if tg_op = 'INSERT' then select count(*) into delta from new_rows; else select -count(*) into delta from old_rows; end if;
    if delta <> 0 then
      insert into event_counts (slot, count) values (pg_backend_pid(), delta)
        on conflict (slot) do update set count = event_counts.count + excluded.count;
    end if;
    return null;
  end $$`,
  `create trigger deliveries_counted_insert after insert on deliveries referencing new table as new_rows
    for each statement execute function ferry_count_inserted_deliveries()`,
  `create trigger deliveries_counted_update after update on deliveries referencing old table as old_rows new table as new_rows
    for each statement execute function ferry_count_updated_deliveries()`,
  `create trigger deliveries_counted_delete after delete on deliveries referencing old table as old_rows
    for each statement execute function ferry_count_deleted_deliveries()`,
  `create trigger events_counted_insert after insert on events referencing new table as new_rows
    for each statement execute function ferry_count_events()`,
  `create trigger events_counted_delete after delete on events referencing old table as old_rows
    for each statement execute function ferry_count_events()`,
];

/** Reads this many stored events at a time when filling event_users from the bodies already stored. */
const BACKFILL_PAGE = 500;

/**
 * Fills event_users for events stored before it existed, from their webhook bodies. Every stored body is
 * a RevenueCat webhook (the only source): its `event` names users in these fields.
 */
async function backfillEventUsers(trx: Transaction<Database>): Promise<void> {
  for (let after = ''; ;) {
    const page = await trx
      .selectFrom('events')
      .select(['id', 'userId', 'body'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(BACKFILL_PAGE)
      .execute();
    if (page.length === 0) return;
    after = page[page.length - 1].id;
    const rows = page.flatMap((event) =>
      [...storedUserIds(event.userId, event.body)].map((id) => ({ userKey: userKey(id), eventId: event.id })),
    );
    if (rows.length > 0)
      await trx
        .insertInto('eventUsers')
        .values(rows)
        .onConflict((oc) => oc.doNothing())
        .execute();
  }
}

function storedUserIds(userId: string | null, body: string): Set<string> {
  const ids = new Set<string>(userId ? [userId] : []);
  let event: Record<string, unknown> = {};
  try {
    event = ((JSON.parse(body) as { event?: Record<string, unknown> }).event ?? {}) as Record<string, unknown>;
  } catch {
    // A body that no longer parses keeps its indexed user id only.
  }
  for (const field of ['app_user_id', 'original_app_user_id', 'aliases', 'transferred_from', 'transferred_to']) {
    for (const id of [event[field]].flat()) if (typeof id === 'string' && id !== '') ids.add(id);
  }
  return ids;
}

/** Every schema version, oldest first: what a migrated database has applied. */
export const MIGRATION_VERSIONS: readonly number[] = MIGRATIONS.map((migration) => migration.version);

/**
 * Applies the migrations this database lacks, in one transaction. `lock` runs first inside it and must
 * serialise concurrent migrators (several runners starting at once).
 */
export async function runMigrations(
  db: Kysely<Database>,
  dialect: Dialect,
  lock: (trx: Transaction<Database>) => Promise<void>,
  nowMs: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lock(trx);
    await trx.schema
      .createTable('ferry_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at_ms', 'bigint', (c) => c.notNull())
      .execute();
    const applied = new Set((await trx.selectFrom('ferryMigrations').select('version').execute()).map((r) => r.version));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await migration.up(trx, dialect);
      await trx.insertInto('ferryMigrations').values({ version: migration.version, name: migration.name, appliedAtMs: nowMs }).execute();
    }
  });
}
