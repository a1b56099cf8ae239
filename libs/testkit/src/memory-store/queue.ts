import {
  allows,
  completionInto,
  erasureIdsOf,
  newDeliveryFields,
  stateAfter,
  storedEventOf,
  type DeliveryUpdate,
  type IngestEvent,
  type LeaseRenewal,
  type LeaseSteps,
  type NewDelivery,
  type QueueBackend,
} from '@ferry/core';
import type { MemoryConnection } from './database';
import { MemoryLeaseSteps } from './lease-steps';
import { settleClaim } from './state-marks';

/** The delivery queue's backend in memory: every write one transaction of the database's (see `MemoryDatabase.transaction`). */
export class MemoryQueue implements QueueBackend {
  /** Every `complete` call, to check outcomes are written together. */
  readonly completions: DeliveryUpdate[][] = [];

  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<'stored' | 'duplicate'> {
    return this.database.transaction(() => this.store(event, deliveries, nowMs));
  }

  private store(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): 'stored' | 'duplicate' {
    this.connection.open();
    const { database } = this;
    if (database.events.has(event.id)) return 'duplicate';
    if (new Set(deliveries.map((d) => d.destinationId)).size < deliveries.length) {
      throw new Error('unique (event, destination): two deliveries of one event to one destination');
    }
    database.events.set(event.id, storedEventOf(event, nowMs));
    database.receivedSeqs.set(event.id, database.receivedSeqs.size + 1);
    database.eventUsers.set(event.id, new Set(erasureIdsOf(event)));
    for (const planned of deliveries) {
      const id = `d${String(database.nextId++).padStart(9, '0')}`;
      database.put({ id, eventId: event.id, ...newDeliveryFields(planned, nowMs), attemptLog: [] });
    }
    return 'stored';
  }

  leasing<T>(nowMs: number, work: (steps: LeaseSteps) => Promise<T>): Promise<T> {
    return this.database.transaction(() => work(new MemoryLeaseSteps(this.database, nowMs)));
  }

  renewLeases(renewal: LeaseRenewal): Promise<string[]> {
    const { deliveryIds, owner, nowMs, leaseMs } = renewal;
    return this.database.transaction(() => {
      const held: string[] = [];
      for (const id of deliveryIds) {
        const row = this.leasedBy(id, owner);
        if (!row) continue;
        this.database.put({ ...row, leaseUntilMs: nowMs + leaseMs, updatedAtMs: nowMs });
        held.push(id);
      }
      return held;
    });
  }

  async heldLeases(deliveryIds: readonly string[], owner: string): Promise<string[]> {
    return deliveryIds.filter((id) => this.leasedBy(id, owner) !== undefined);
  }

  /** The delivery, if `owner` holds it: in flight under its lease. */
  private leasedBy(id: string, owner: string) {
    const row = this.database.deliveries.get(id);
    return row !== undefined && allows('takeOver', row.state) && row.leaseOwner === owner ? row : undefined;
  }

  complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void> {
    this.completions.push([...updates]);
    return this.database.transaction(() => this.apply(updates, nowMs, owner));
  }

  private apply(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): void {
    for (const update of updates) {
      const { state, attempt } = update;
      const row = this.database.deliveries.get(update.deliveryId);
      // A lost lease: it expired and someone else holds it now, or it was released.
      if (!row || !allows(completionInto(state), row.state) || row.leaseOwner !== owner) continue;
      const attempts = row.attempts + (attempt ? 1 : 0);
      settleClaim(this.database, row.destinationId, update);
      this.database.put({
        ...row,
        state,
        attempts,
        attemptLog: attempt ? [...row.attemptLog, { deliveryId: row.id, number: attempts, ...attempt }] : row.attemptLog,
        // Paused ones keep the time they fell due (probes take the oldest first); final states need none.
        nextAttemptAtMs: state === 'pending' ? (update.nextAttemptAtMs ?? nowMs) : state === 'paused' ? row.nextAttemptAtMs : null,
        leaseUntilMs: null,
        leaseOwner: null,
        // Its holder finished the attempt: interruptions are counted in a row.
        interruptions: 0,
        lastStatus: update.lastStatus !== undefined ? update.lastStatus : attempt ? attempt.status : row.lastStatus,
        lastError: update.lastError !== undefined ? update.lastError : attempt ? attempt.error : row.lastError,
        deliveredAtMs: state === 'delivered' ? nowMs : row.deliveredAtMs,
        updatedAtMs: nowMs,
      });
    }
  }

  setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number> {
    return this.database.transaction(() => movePaused(this.connection, destinationId, paused, nowMs));
  }

  async nextDueAtMs(destinationId: string): Promise<number | undefined> {
    const times = this.database
      .rows(destinationId)
      .filter((row) => allows('lease', row.state))
      .map((row) => row.nextAttemptAtMs ?? 0);
    return times.length > 0 ? Math.min(...times) : undefined;
  }
}

/** A destination's pending deliveries to paused, or paused back to pending (due at once); answers how many moved. */
export function movePaused({ database }: MemoryConnection, destinationId: string, paused: boolean, nowMs: number): number {
  const transition = paused ? 'pause' : 'resume';
  const moving = database.rows(destinationId).filter((row) => allows(transition, row.state));
  for (const row of moving)
    database.put({ ...row, state: stateAfter(transition), nextAttemptAtMs: paused ? row.nextAttemptAtMs : nowMs, updatedAtMs: nowMs });
  return moving.length;
}
