import type { Kysely, Transaction } from 'kysely';
import type { Database } from './database';

interface Migration {
  readonly version: number;
  readonly name: string;
  up(trx: Transaction<Database>): Promise<void>;
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
    name: 'count interrupted attempts of each delivery',
    async up(trx) {
      await trx.schema
        .alterTable('deliveries')
        .addColumn('interruptions', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
];

/**
 * Applies the migrations this database lacks, in one transaction. `lock` runs first inside it and must
 * serialise concurrent migrators (several runners starting at once).
 */
export async function runMigrations(
  db: Kysely<Database>,
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
      await migration.up(trx);
      await trx.insertInto('ferryMigrations').values({ version: migration.version, name: migration.name, appliedAtMs: nowMs }).execute();
    }
  });
}
