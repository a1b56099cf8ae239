import { BACKLOG_STATES, type ActivityCount, type ActivityLog, type ActivityRow } from '@ferry/core';
import type { MemoryConnection } from './database';

const activityKey = (minuteMs: number, series: string) => `${minuteMs}\0${series}`;

/** Activity in memory (the SQL stores' activity_minutes), each change a transaction of the database's. */
export class MemoryActivityLog implements ActivityLog {
  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  add(counts: readonly ActivityCount[]): Promise<void> {
    this.connection.open();
    return this.database.transaction(() => {
      for (const { series, minuteMs, value } of counts) {
        if (value === 0) continue;
        const key = activityKey(minuteMs, series);
        const stored = this.database.activity.get(key);
        this.database.activity.set(key, { series, minuteMs, value: (stored?.value ?? 0) + value });
      }
    });
  }

  sampleBacklog(minuteMs: number): Promise<number> {
    this.connection.open();
    return this.database.transaction(() => {
      const waiting: ReadonlySet<string> = new Set(BACKLOG_STATES);
      const value = this.database.rows().filter((row) => waiting.has(row.state)).length;
      const key = activityKey(minuteMs, 'backlog');
      const stored = this.database.activity.get(key);
      this.database.activity.set(key, { series: 'backlog', minuteMs, value: Math.max(stored?.value ?? 0, value) });
      return value;
    });
  }

  async read(fromMs: number, toMs: number): Promise<ActivityRow[]> {
    this.connection.open();
    return [...this.database.activity.values()]
      .filter((row) => row.minuteMs >= fromMs && row.minuteMs < toMs)
      .sort((a, b) => a.minuteMs - b.minuteMs || (a.series < b.series ? -1 : a.series > b.series ? 1 : 0));
  }

  prune(beforeMs: number): Promise<number> {
    this.connection.open();
    return this.database.transaction(() => {
      let removed = 0;
      for (const [key, row] of this.database.activity) {
        if (row.minuteMs < beforeMs && this.database.activity.delete(key)) removed += 1;
      }
      return removed;
    });
  }
}
