import type {
  AttemptRecord,
  DeliveryRow,
  DeliveryUpdate,
  IngestEvent,
  LeaseRequest,
  LeasedDelivery,
  NewDelivery,
  Store,
  StoreStats,
} from '@ferry/core';

/** A delivery as this store keeps it: the row, its event body, retry window and attempt log. */
export interface MemoryDelivery extends DeliveryRow {
  readonly body: string;
  readonly windowStartMs: number;
  readonly leaseOwner: string | null;
  readonly attemptLog: readonly AttemptRecord[];
}

/**
 * The `Store` port in memory, for engine tests (the engine may not import @ferry/store). It follows the
 * port's documented semantics for what the engine uses; listing, replay and stats are not needed here.
 */
export class MemoryStore implements Store {
  private readonly deliveries = new Map<string, MemoryDelivery>();
  private readonly eventIds = new Set<string>();
  private nextId = 1;
  /** Every `complete` call, to check outcomes are written together. */
  readonly completions: DeliveryUpdate[][] = [];
  readonly pauseCalls: { destinationId: string; paused: boolean }[] = [];

  async migrate(): Promise<void> {}

  async ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<'stored' | 'duplicate'> {
    if (this.eventIds.has(event.id)) return 'duplicate';
    this.eventIds.add(event.id);
    for (const planned of deliveries) {
      const id = `d${this.nextId++}`;
      this.deliveries.set(id, {
        id,
        eventId: event.id,
        destinationId: planned.destinationId,
        state: planned.state,
        attempts: 0,
        nextAttemptAtMs: planned.state === 'pending' ? nowMs : null,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: planned.reason ?? null,
        deliveredAtMs: null,
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
        body: event.body,
        windowStartMs: nowMs,
        attemptLog: [],
      });
    }
    return 'stored';
  }

  async lease(request: LeaseRequest): Promise<LeasedDelivery[]> {
    const from = request.from ?? 'pending';
    const due = [...this.deliveries.values()]
      .filter((row) => row.destinationId === request.destinationId)
      .filter((row) =>
        from === 'paused'
          ? row.state === 'paused'
          : (row.state === 'pending' && (row.nextAttemptAtMs ?? 0) <= request.nowMs) ||
            (row.state === 'in_flight' && (row.leaseUntilMs ?? 0) < request.nowMs),
      )
      .sort((a, b) => (a.nextAttemptAtMs ?? 0) - (b.nextAttemptAtMs ?? 0) || a.createdAtMs - b.createdAtMs)
      .slice(0, request.limit);
    return due.map((row) => {
      this.put({
        ...row,
        state: 'in_flight',
        leaseUntilMs: request.nowMs + request.leaseMs,
        leaseOwner: request.owner,
        updatedAtMs: request.nowMs,
      });
      return {
        id: row.id,
        eventId: row.eventId,
        destinationId: row.destinationId,
        attempts: row.attempts,
        windowStartMs: row.windowStartMs,
        body: row.body,
      };
    });
  }

  async complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void> {
    this.completions.push([...updates]);
    for (const update of updates) {
      const row = this.deliveries.get(update.deliveryId);
      if (!row || row.state !== 'in_flight' || row.leaseOwner !== owner) continue; // a lost lease: someone else owns it now
      this.put({
        ...row,
        state: update.state,
        attempts: row.attempts + (update.attempt ? 1 : 0),
        attemptLog: update.attempt ? [...row.attemptLog, update.attempt] : row.attemptLog,
        nextAttemptAtMs: update.state === 'pending' ? (update.nextAttemptAtMs ?? nowMs) : null,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: update.lastStatus !== undefined ? update.lastStatus : row.lastStatus,
        lastError: update.lastError !== undefined ? update.lastError : row.lastError,
        deliveredAtMs: update.state === 'delivered' ? nowMs : row.deliveredAtMs,
        updatedAtMs: nowMs,
      });
    }
  }

  async releaseLeases(owner?: string): Promise<number> {
    const held = [...this.deliveries.values()].filter(
      (row) => row.state === 'in_flight' && (owner === undefined || row.leaseOwner === owner),
    );
    for (const row of held) this.put({ ...row, state: 'pending', leaseUntilMs: null, leaseOwner: null });
    return held.length;
  }

  async setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number> {
    this.pauseCalls.push({ destinationId, paused });
    const [from, to] = paused ? (['pending', 'paused'] as const) : (['paused', 'pending'] as const);
    const moving = [...this.deliveries.values()].filter((row) => row.destinationId === destinationId && row.state === from);
    for (const row of moving) this.put({ ...row, state: to, nextAttemptAtMs: paused ? null : nowMs, updatedAtMs: nowMs });
    return moving.length;
  }

  async nextDueAtMs(destinationId: string): Promise<number | undefined> {
    const times = [...this.deliveries.values()]
      .filter((row) => row.destinationId === destinationId && row.state === 'pending')
      .map((row) => row.nextAttemptAtMs ?? 0);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  listEvents(): never {
    throw new Error('not needed by the engine tests');
  }
  listDeliveries(): never {
    throw new Error('not needed by the engine tests');
  }
  getEvent(): never {
    throw new Error('not needed by the engine tests');
  }
  replay(): never {
    throw new Error('not needed by the engine tests');
  }
  stats(): Promise<StoreStats> {
    throw new Error('not needed by the engine tests');
  }

  /** Every delivery of a destination, oldest first. */
  rows(destinationId?: string): MemoryDelivery[] {
    return [...this.deliveries.values()].filter((row) => destinationId === undefined || row.destinationId === destinationId);
  }

  row(eventId: string, destinationId: string): MemoryDelivery {
    const row = this.rows(destinationId).find((candidate) => candidate.eventId === eventId);
    if (!row) throw new Error(`no delivery of ${eventId} to ${destinationId}`);
    return row;
  }

  private put(row: MemoryDelivery): void {
    this.deliveries.set(row.id, row);
  }
}
