import {
  allows,
  DESTINATION_REMOVED,
  expiredEventIds,
  stateAfter,
  type MaintenanceBackend,
  type OrphanTransition,
  type ReceivedEvent,
  type ReceivedWindow,
  type ReplayBatch,
  type ReplayFilter,
  type RetentionCutoffs,
} from '@ferry/core';
import type { MemoryConnection, MemoryDelivery } from './database';
import { customerOf, eraseMarks } from './state-marks';

/** Maintenance's backend in memory: one batch at a time, each a transaction of the database's. */
export class MemoryMaintenance implements MaintenanceBackend<ReadonlySet<string>> {
  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  async receivedEvents(window: ReceivedWindow, after: ReceivedEvent | undefined, limit: number): Promise<ReceivedEvent[]> {
    this.connection.open();
    return [...this.database.events.values()]
      .filter((event) => inWindow(event.receivedAtMs, window) && (after === undefined || receivedAfter(event, after)))
      .map(({ receivedAtMs, id }) => ({ receivedAtMs, id }))
      .sort((a, b) => (receivedAfter(a, b) ? 1 : -1))
      .slice(0, limit);
  }

  replayBatch(batch: ReplayBatch, filter: ReplayFilter, nowMs: number): Promise<number> {
    return this.database.transaction(() => {
      const rows = this.replayable(batch, filter);
      for (const row of rows) {
        this.database.put({
          ...row,
          state: stateAfter('replay'),
          nextAttemptAtMs: nowMs,
          windowStartMs: nowMs,
          leaseUntilMs: null,
          leaseOwner: null,
          deliveredAtMs: null,
          updatedAtMs: nowMs,
        });
      }
      return rows.length;
    });
  }

  async countReplayBatch(batch: ReplayBatch, filter: ReplayFilter): Promise<number> {
    return this.replayable(batch, filter).length;
  }

  /** The batch's deliveries `filter` lets replay. */
  private replayable({ deliveryIds, eventIds }: ReplayBatch, filter: ReplayFilter) {
    return this.database
      .rows(filter.destinationId)
      .filter(
        (row) =>
          (deliveryIds === undefined || deliveryIds.includes(row.id)) &&
          (eventIds === undefined || eventIds.includes(row.eventId)) &&
          filter.states.includes(row.state) &&
          (filter.window === undefined || inWindow(this.database.events.get(row.eventId)!.receivedAtMs, filter.window)),
      );
  }

  async waitingOrphans(
    destinationId: string,
    transition: OrphanTransition,
    nowMs: number,
    limit: number,
    notAt?: string,
  ): Promise<string[]> {
    const taken = new Set(notAt === undefined ? [] : this.database.rows(notAt).map((row) => row.eventId));
    return this.database
      .rows(destinationId)
      .filter((row) => waitingOrphan(transition, row, nowMs) && !taken.has(row.eventId))
      .slice(0, limit)
      .map((row) => row.id);
  }

  async countWaitingOrphans(destinationId: string, transition: OrphanTransition, nowMs: number): Promise<number> {
    return this.database.rows(destinationId).filter((row) => waitingOrphan(transition, row, nowMs)).length;
  }

  dropOrphans(deliveryIds: readonly string[], nowMs: number): Promise<number> {
    return this.database.transaction(() => {
      const dropped = this.named(deliveryIds).filter((row) => waitingOrphan('dropOrphan', row, nowMs));
      for (const row of dropped) {
        this.database.put({
          ...row,
          state: stateAfter('dropOrphan'),
          lastError: DESTINATION_REMOVED,
          nextAttemptAtMs: null,
          leaseUntilMs: null,
          leaseOwner: null,
          updatedAtMs: nowMs,
        });
      }
      return dropped.length;
    });
  }

  reassignOrphans(deliveryIds: readonly string[], toDestinationId: string, nowMs: number): Promise<number> {
    return this.database.transaction(() => {
      const taken = new Set(this.database.rows(toDestinationId).map((row) => row.eventId));
      const moving = this.named(deliveryIds).filter((row) => waitingOrphan('reassignOrphan', row, nowMs) && !taken.has(row.eventId));
      for (const row of moving) {
        this.database.put({
          ...row,
          destinationId: toDestinationId,
          state: stateAfter('reassignOrphan'),
          nextAttemptAtMs: nowMs,
          windowStartMs: nowMs,
          leaseUntilMs: null,
          leaseOwner: null,
          updatedAtMs: nowMs,
        });
      }
      return moving.length;
    });
  }

  expire(events: readonly ReceivedEvent[], cutoffs: RetentionCutoffs): Promise<number | 'busy'> {
    return this.database.transaction(() => {
      this.connection.open();
      const ids = new Set(events.map((event) => event.id));
      const deliveries = this.database.rows().filter((row) => ids.has(row.eventId));
      return this.remove(expiredEventIds(events, deliveries, cutoffs));
    });
  }

  async eventsNaming(appUserId: string, limit: number): Promise<string[]> {
    this.connection.open();
    return [...this.database.eventUsers]
      .filter(([, users]) => users.has(appUserId))
      .slice(0, limit)
      .map(([eventId]) => eventId);
  }

  removeEvents(eventIds: readonly string[]): Promise<number> {
    return this.database.transaction(() => this.remove(eventIds));
  }

  async customerOf(appUserId: string): Promise<ReadonlySet<string>> {
    return customerOf(this.database, appUserId);
  }

  eraseMarks(customer: ReadonlySet<string>): Promise<void> {
    return this.database.transaction(() => eraseMarks(this.database, customer));
  }

  async afterErase(): Promise<void> {}

  async afterBatch(): Promise<void> {}

  /** These deliveries, those that still exist. */
  private named(deliveryIds: readonly string[]): MemoryDelivery[] {
    return deliveryIds.flatMap((id) => this.database.deliveries.get(id) ?? []);
  }

  /** Events with their deliveries (and so their attempt logs): the one way events leave, as in the SQL stores. */
  private remove(eventIds: readonly string[]): number {
    const ids = new Set(eventIds);
    for (const row of this.database.rows()) if (ids.has(row.eventId)) this.database.deliveries.delete(row.id);
    let removed = 0;
    for (const id of ids) {
      if (this.database.events.delete(id)) removed += 1;
      this.database.eventUsers.delete(id);
    }
    return removed;
  }
}

function inWindow(receivedAtMs: number, { fromMs, toMs }: ReceivedWindow): boolean {
  return (fromMs === undefined || receivedAtMs >= fromMs) && (toMs === undefined || receivedAtMs < toMs);
}

/** Whether `event` comes after `cursor` in the order of receipt: time, then id. */
function receivedAfter(event: ReceivedEvent, cursor: ReceivedEvent): boolean {
  return event.receivedAtMs > cursor.receivedAtMs || (event.receivedAtMs === cursor.receivedAtMs && event.id > cursor.id);
}

/** A waiting delivery an orphan operation may change: in-flight ones only once their lease expired. */
function waitingOrphan(transition: OrphanTransition, row: MemoryDelivery, nowMs: number): boolean {
  return allows(transition, row.state) && (row.state !== 'in_flight' || (row.leaseUntilMs ?? 0) < nowMs);
}
