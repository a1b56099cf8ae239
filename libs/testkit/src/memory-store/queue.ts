import {
  allows,
  completionInto,
  erasureIdsOf,
  INTERRUPTED_ERROR,
  interruptedTooOftenError,
  MAX_INTERRUPTIONS,
  stateAfter,
  type DeliveryQueue,
  type DeliveryTransition,
  type DeliveryUpdate,
  type IngestEvent,
  type LeasedDelivery,
  type LeaseRenewal,
  type LeaseRequest,
  type NewDelivery,
} from '@ferry/core';
import type { MemoryConnection, MemoryDelivery } from './database';
import { settleClaim } from './state-marks';

/** The delivery queue in memory. */
export class MemoryQueue implements DeliveryQueue {
  /** Every `complete` call, to check outcomes are written together. */
  readonly completions: DeliveryUpdate[][] = [];

  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  async ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<'stored' | 'duplicate'> {
    this.connection.open();
    const { database } = this;
    if (database.events.has(event.id)) return 'duplicate';
    if (new Set(deliveries.map((d) => d.destinationId)).size < deliveries.length) {
      throw new Error('unique (event, destination): two deliveries of one event to one destination');
    }
    const { id, source, type, kind, userId, environment, timestampMs, body } = event;
    database.events.set(id, { id, source, type, kind, userId, environment, timestampMs, receivedAtMs: nowMs, body });
    database.receivedSeqs.set(id, database.receivedSeqs.size + 1);
    database.eventUsers.set(id, new Set(erasureIdsOf(event)));
    for (const planned of deliveries) {
      const deliveryId = `d${String(database.nextId++).padStart(9, '0')}`;
      database.put({
        id: deliveryId,
        eventId: id,
        destinationId: planned.destinationId,
        state: planned.state,
        attempts: 0,
        // Skipped is final; paused ones fall due when their destination resumes.
        nextAttemptAtMs: planned.state === 'skipped' ? null : nowMs,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: planned.reason ?? null,
        deliveredAtMs: null,
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
        windowStartMs: nowMs,
        interruptions: 0,
        attemptLog: [],
      });
    }
    return 'stored';
  }

  async lease(request: LeaseRequest): Promise<LeasedDelivery[]> {
    const { database } = this;
    const { destinationId, limit, nowMs, leaseMs, owner } = request;
    const maxBytes = request.maxBytes ?? Infinity;
    const taken: MemoryDelivery[] = [];
    let bytes = 0;
    let full = false;
    const take = (transition: DeliveryTransition, due: (row: MemoryDelivery) => boolean, order: (row: MemoryDelivery) => number) => {
      const candidates = database
        .rows(destinationId)
        .filter((row) => allows(transition, row.state) && due(row))
        .sort((a, b) => order(a) - order(b) || a.id.localeCompare(b.id))
        .slice(0, limit - taken.length);
      // A lease taken over was being sent when its holder stopped: an attempt, and maybe the last one.
      const interrupted = transition === 'takeOver';
      for (const candidate of interrupted ? this.interrupt(candidates, nowMs) : candidates) {
        const size = Buffer.byteLength(database.events.get(candidate.eventId)!.body);
        // At least one delivery, however large, so a huge webhook still goes (alone).
        if (taken.length > 0 && bytes + size > maxBytes) {
          full = true;
          return;
        }
        bytes += size;
        const row = database.deliveries.get(candidate.id)!;
        const leased: MemoryDelivery = {
          ...row,
          state: stateAfter(transition) as 'in_flight',
          leaseUntilMs: nowMs + leaseMs,
          leaseOwner: owner,
          updatedAtMs: nowMs,
          ...(interrupted ? { attempts: row.attempts + 1, interruptions: row.interruptions + 1 } : {}),
        };
        taken.push(leased);
        database.put(leased);
      }
    };
    const dueAt = (row: MemoryDelivery) => row.nextAttemptAtMs ?? 0;
    if (limit <= 0) return [];
    if (request.from === 'paused') {
      take('probe', () => true, dueAt);
    } else {
      // Leases of crashed or stalled holders first: they have waited longest.
      take(
        'takeOver',
        (row) => (row.leaseUntilMs ?? 0) < nowMs,
        (row) => row.leaseUntilMs ?? 0,
      );
      if (taken.length < limit && !full) take('lease', (row) => dueAt(row) <= nowMs, dueAt);
    }
    return taken.map((row) => ({
      id: row.id,
      eventId: row.eventId,
      destinationId: row.destinationId,
      attempts: row.attempts,
      windowStartMs: row.windowStartMs,
      body: database.events.get(row.eventId)!.body,
    }));
  }

  /**
   * Logs an interrupted attempt for each of these in-flight deliveries and sets aside (dead) those
   * interrupted `MAX_INTERRUPTIONS` times in a row; the caller moves the others on (leased again, or released).
   */
  private interrupt(rows: readonly MemoryDelivery[], nowMs: number): MemoryDelivery[] {
    const resumed: MemoryDelivery[] = [];
    for (const row of rows) {
      const attemptLog = [
        ...row.attemptLog,
        {
          deliveryId: row.id,
          number: row.attempts + 1,
          startedAtMs: nowMs,
          durationMs: 0,
          status: null,
          outcome: 'retry' as const,
          error: INTERRUPTED_ERROR,
        },
      ];
      if (row.interruptions + 1 < MAX_INTERRUPTIONS) {
        this.database.put({ ...row, attemptLog });
        resumed.push(row);
        continue;
      }
      this.database.put({
        ...row,
        attemptLog,
        state: stateAfter('abandon'),
        attempts: row.attempts + 1,
        // The reason keeps the count; a replay starts a fresh one.
        interruptions: 0,
        nextAttemptAtMs: null,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: interruptedTooOftenError(MAX_INTERRUPTIONS),
        updatedAtMs: nowMs,
      });
    }
    return resumed;
  }

  async renewLeases(renewal: LeaseRenewal): Promise<string[]> {
    const { deliveryIds, owner, nowMs, leaseMs } = renewal;
    const held: string[] = [];
    for (const id of deliveryIds) {
      const row = this.leasedBy(id, owner);
      if (!row) continue;
      this.database.put({ ...row, leaseUntilMs: nowMs + leaseMs, updatedAtMs: nowMs });
      held.push(id);
    }
    return held;
  }

  async heldLeases(deliveryIds: readonly string[], owner: string): Promise<string[]> {
    return deliveryIds.filter((id) => this.leasedBy(id, owner) !== undefined);
  }

  /** The delivery, if `owner` holds it: in flight under its lease. */
  private leasedBy(id: string, owner: string) {
    const row = this.database.deliveries.get(id);
    return row !== undefined && allows('takeOver', row.state) && row.leaseOwner === owner ? row : undefined;
  }

  async complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void> {
    this.completions.push([...updates]);
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

  async releaseLeases(owner?: string): Promise<number> {
    const nowMs = Date.now();
    const held = this.database.rows().filter((row) => allows('release', row.state) && (owner === undefined || row.leaseOwner === owner));
    // Released after a crash: the runner stopped while sending them, as when a lease is taken over.
    for (const row of this.interrupt(held, nowMs)) {
      const logged = this.database.deliveries.get(row.id)!;
      this.database.put({
        ...logged,
        state: stateAfter('release'),
        attempts: row.attempts + 1,
        interruptions: row.interruptions + 1,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: INTERRUPTED_ERROR,
        updatedAtMs: nowMs,
      });
    }
    return held.length;
  }

  async setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number> {
    return movePaused(this.connection, destinationId, paused, nowMs);
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
