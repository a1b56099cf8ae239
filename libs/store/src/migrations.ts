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
    // Numbered 5 here; renumber freely at merge (only its place after the others matters).
    version: 5,
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
