import {
  allows,
  DESTINATION_REMOVED,
  stateAfter,
  statesFrom,
  type DeliveryState,
  type Maintenance,
  type PruneResult,
  type Reassignment,
  type ReplaySelector,
  type RetentionCutoffs,
} from '@ferry/core';
import { yieldToEventLoop, type MemoryConnection, type MemoryDelivery } from './database';
import { customerOf, eraseMarks } from './state-marks';

/** Replay works through this many ids, or the deliveries of this many events, at a time, as the SQL stores do. */
const CHUNK = 500;

/** Maintenance in memory: replay, orphans, retention and erasure. */
export class MemoryMaintenance implements Maintenance {
  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  async replay(selector: ReplaySelector, nowMs: number, onProgress?: (replayed: number) => void): Promise<number> {
    const { deliveryIds, eventIds, fromMs, toMs, destinationId } = selector;
    if (deliveryIds === undefined && eventIds === undefined && fromMs === undefined && toMs === undefined) {
      throw new Error('replay: give deliveryIds, eventIds, or a fromMs/toMs window');
    }
    // Whatever the selector asks for, only states the table lets replay.
    const states = new Set((selector.states ?? ['dead', 'skipped']).filter((state) => allows('replay', state)));
    const inWindow = (eventId: string) => {
      const { receivedAtMs } = this.database.events.get(eventId)!;
      return (fromMs === undefined || receivedAtMs >= fromMs) && (toMs === undefined || receivedAtMs < toMs);
    };
    const selected = (row: MemoryDelivery) =>
      states.has(row.state as 'dead') &&
      (destinationId === undefined || row.destinationId === destinationId) &&
      (deliveryIds === undefined || deliveryIds.includes(row.id)) &&
      (eventIds === undefined || eventIds.includes(row.eventId)) &&
      inWindow(row.eventId);
    // Batches as the SQL stores make them: CHUNK ids of a list, or the deliveries of CHUNK events of a window.
    const byIds = deliveryIds !== undefined || eventIds !== undefined;
    const keys = byIds
      ? [...new Set([...(deliveryIds ?? []), ...(eventIds ?? [])])]
      : [...this.database.events.values()]
          .filter((event) => inWindow(event.id))
          .sort((a, b) => a.receivedAtMs - b.receivedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .map((event) => event.id);
    if (states.size === 0 || keys.length === 0) return 0;
    let replayed = 0;
    for (let i = 0; i < keys.length; i += CHUNK) {
      const batch = new Set(keys.slice(i, i + CHUNK));
      replayed += await this.database.transaction(() => {
        const rows = this.database.rows().filter((row) => (batch.has(row.id) || batch.has(row.eventId)) && selected(row));
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
      onProgress?.(replayed);
      await yieldToEventLoop();
    }
    return replayed;
  }

  dropOrphans(destinationId: string, nowMs: number): Promise<number> {
    return this.database.transaction(() => this.drop(destinationId, nowMs));
  }

  private drop(destinationId: string, nowMs: number): number {
    const dropped = this.database.rows(destinationId).filter((row) => waitingOrphan('dropOrphan', row, nowMs));
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
  }

  reassignOrphans(fromDestinationId: string, toDestinationId: string, nowMs: number): Promise<Reassignment> {
    return this.database.transaction(() => this.reassign(fromDestinationId, toDestinationId, nowMs));
  }

  private reassign(fromDestinationId: string, toDestinationId: string, nowMs: number): Reassignment {
    const waiting = this.database.rows(fromDestinationId).filter((row) => waitingOrphan('reassignOrphan', row, nowMs));
    // An event that already has a delivery to the new destination keeps it.
    const taken = new Set(this.database.rows(toDestinationId).map((row) => row.eventId));
    const moving = waiting.filter((row) => !taken.has(row.eventId));
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
    return { reassigned: moving.length, kept: waiting.length - moving.length };
  }

  async prune(cutoffs: RetentionCutoffs, onProgress?: (removed: number) => void, signal?: AbortSignal): Promise<PruneResult> {
    this.connection.open();
    const expiring = statesFrom('expire') as readonly DeliveryState[];
    const old = [...this.database.events.values()]
      .filter((event) => event.receivedAtMs < Math.max(cutoffs.finalBeforeMs, cutoffs.deadBeforeMs))
      .sort((a, b) => a.receivedAtMs - b.receivedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let removed = 0;
    for (let i = 0; i < old.length && !signal?.aborted; i += CHUNK) {
      removed += await this.database.transaction(() => {
        const expired = old.slice(i, i + CHUNK).filter((event) => {
          const states = this.database
            .rows()
            .filter((row) => row.eventId === event.id)
            .map((row) => row.state);
          if (!states.every((state) => expiring.includes(state))) return false;
          return event.receivedAtMs < (states.includes('dead') ? cutoffs.deadBeforeMs : cutoffs.finalBeforeMs);
        });
        return this.removeEvents(expired.map((event) => event.id));
      });
      onProgress?.(removed);
      await yieldToEventLoop();
    }
    return { removed, busy: false };
  }

  erase(appUserId: string): Promise<number> {
    return this.database.transaction(() => {
      this.connection.open();
      const named = [...this.database.eventUsers].filter(([, users]) => users.has(appUserId)).map(([eventId]) => eventId);
      eraseMarks(this.database, customerOf(this.database, appUserId));
      return this.removeEvents(named);
    });
  }

  /** Events with their deliveries (and so their attempt logs): the one way events leave, as in the SQL stores. */
  private removeEvents(eventIds: readonly string[]): number {
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

/** A waiting delivery an orphan operation may change: in-flight ones only once their lease expired. */
function waitingOrphan(transition: 'dropOrphan' | 'reassignOrphan', row: MemoryDelivery, nowMs: number): boolean {
  return allows(transition, row.state) && (row.state !== 'in_flight' || (row.leaseUntilMs ?? 0) < nowMs);
}
