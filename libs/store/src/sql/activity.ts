import { sql } from 'kysely';
import { BACKLOG_STATES, type ActivityCount, type ActivityLog, type ActivityRow } from '@ferry/core';
import { chunks, type SqlContext } from './context';

/**
 * Activity on SQL (`ActivityLog`), in the table of migration 14: one row per minute and series. Adding is an
 * upsert that adds to the stored value, so runners adding to one minute at once on Postgres each wait for the
 * other's row lock and the row ends at the sum; rows go in key order, so two such transactions never deadlock.
 */
export class SqlActivityLog implements ActivityLog {
  constructor(private readonly context: SqlContext) {}

  async add(counts: readonly ActivityCount[]): Promise<void> {
    const rows = summedByKey(counts);
    if (rows.length === 0) return;
    await this.context.write(async (trx) => {
      for (const chunk of chunks(rows)) {
        await trx
          .insertInto('activityMinutes')
          .values(chunk)
          .onConflict((oc) =>
            oc.columns(['minuteMs', 'series']).doUpdateSet({ value: (eb) => eb('activityMinutes.value', '+', eb.ref('excluded.value')) }),
          )
          .execute();
      }
    });
  }

  async sampleBacklog(minuteMs: number): Promise<number> {
    return this.context.write(async (trx) => {
      // The trigger-kept counters: a handful of rows per destination, however many deliveries wait. On Postgres
      // the sum over every connection's slot is exact whether or not they were folded yet.
      const { backlog } = await trx
        .selectFrom('deliveryCounts')
        .select(sql<number>`cast(coalesce(sum(count), 0) as bigint)`.as('backlog'))
        .where('state', 'in', BACKLOG_STATES)
        .executeTakeFirstOrThrow();
      const value = Number(backlog);
      // The higher of the two (`max` is spelt differently in SQLite and Postgres).
      await trx
        .insertInto('activityMinutes')
        .values({ minuteMs, series: 'backlog', value })
        .onConflict((oc) =>
          oc.columns(['minuteMs', 'series']).doUpdateSet({
            value: sql<number>`case when excluded.value > activity_minutes.value then excluded.value else activity_minutes.value end`,
          }),
        )
        .execute();
      return value;
    });
  }

  async read(fromMs: number, toMs: number): Promise<ActivityRow[]> {
    const rows = await this.context.db
      .selectFrom('activityMinutes')
      .select(['minuteMs', 'series', 'value'])
      .where('minuteMs', '>=', fromMs)
      .where('minuteMs', '<', toMs)
      .orderBy('minuteMs')
      .orderBy('series')
      .execute();
    return rows.map((row) => ({ ...row, minuteMs: Number(row.minuteMs), value: Number(row.value) }));
  }

  async prune(beforeMs: number): Promise<number> {
    const result = await this.context.write((trx) => trx.deleteFrom('activityMinutes').where('minuteMs', '<', beforeMs).executeTakeFirst());
    return Number(result.numDeletedRows);
  }
}

/** One row per (minute, series), the values summed, in key order: an upsert may touch a row once, and locks go in one order. */
function summedByKey(counts: readonly ActivityCount[]): ActivityCount[] {
  const byKey = new Map<string, ActivityCount>();
  for (const count of counts) {
    if (count.value === 0) continue;
    const key = `${count.minuteMs}\0${count.series}`;
    const before = byKey.get(key);
    byKey.set(key, { ...count, value: (before?.value ?? 0) + count.value });
  }
  return [...byKey.values()].sort((a, b) => a.minuteMs - b.minuteMs || (a.series < b.series ? -1 : a.series > b.series ? 1 : 0));
}
