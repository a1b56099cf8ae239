import {
  allows,
  stateAfter,
  type AttemptRow,
  type HeldDelivery,
  type LeaseCandidate,
  type LeaseSteps,
  type LeaseTransition,
  type StoredBody,
} from '@ferry/core';
import type { MemoryDatabase, MemoryDelivery } from './database';

/** The lease policy's steps in memory, inside one of the database's write transactions (see `LeaseSteps`). */
export class MemoryLeaseSteps implements LeaseSteps {
  constructor(
    private readonly database: MemoryDatabase,
    private readonly nowMs: number,
  ) {}

  async candidates(destinationId: string, transition: LeaseTransition, limit: number): Promise<LeaseCandidate[]> {
    const dueAt = (row: MemoryDelivery) => row.nextAttemptAtMs ?? 0;
    // A lease taken over ended before now; a delivery leased is due by now; a probe takes any paused one.
    const { due, order } = {
      takeOver: {
        due: (row: MemoryDelivery) => (row.leaseUntilMs ?? 0) < this.nowMs,
        order: (row: MemoryDelivery) => row.leaseUntilMs ?? 0,
      },
      lease: { due: (row: MemoryDelivery) => dueAt(row) <= this.nowMs, order: dueAt },
      probe: { due: () => true, order: dueAt },
    }[transition];
    return this.database
      .rows(destinationId)
      .filter((row) => allows(transition, row.state) && due(row))
      .sort((a, b) => order(a) - order(b) || a.id.localeCompare(b.id))
      .slice(0, limit)
      .map((row) => ({
        id: row.id,
        eventId: row.eventId,
        destinationId: row.destinationId,
        attempts: row.attempts,
        windowStartMs: row.windowStartMs,
        interruptions: row.interruptions,
        bytes: Buffer.byteLength(this.database.events.get(row.eventId)!.body),
      }));
  }

  async inFlight(owner?: string): Promise<HeldDelivery[]> {
    return this.database
      .rows()
      .filter((row) => allows('release', row.state) && (owner === undefined || row.leaseOwner === owner))
      .map(({ id, attempts, interruptions }) => ({ id, attempts, interruptions }));
  }

  async logAttempts(attempts: readonly AttemptRow[]): Promise<void> {
    for (const attempt of attempts) {
      const row = this.database.deliveries.get(attempt.deliveryId)!;
      this.database.put({ ...row, attemptLog: [...row.attemptLog, attempt] });
    }
  }

  async abandon(deliveryIds: readonly string[], reason: string): Promise<void> {
    for (const id of deliveryIds) {
      this.change(id, (row) => ({
        state: stateAfter('abandon'),
        attempts: row.attempts + 1,
        interruptions: 0,
        nextAttemptAtMs: null,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: reason,
      }));
    }
  }

  async markLeased(
    deliveryIds: readonly string[],
    transition: LeaseTransition,
    lease: { readonly owner: string; readonly leaseMs: number; readonly interrupted: boolean },
  ): Promise<void> {
    for (const id of deliveryIds) {
      this.change(id, (row) => ({
        state: stateAfter(transition),
        leaseUntilMs: this.nowMs + lease.leaseMs,
        leaseOwner: lease.owner,
        ...(lease.interrupted ? { attempts: row.attempts + 1, interruptions: row.interruptions + 1 } : {}),
      }));
    }
  }

  async release(deliveryIds: readonly string[], reason: string): Promise<void> {
    for (const id of deliveryIds) {
      this.change(id, (row) => ({
        state: stateAfter('release'),
        attempts: row.attempts + 1,
        interruptions: row.interruptions + 1,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: reason,
      }));
    }
  }

  async bodies(eventIds: readonly string[]): Promise<ReadonlyMap<string, StoredBody>> {
    return new Map(
      eventIds.flatMap((id) => {
        const event = this.database.events.get(id);
        return event === undefined ? [] : [[id, { body: event.body, source: event.source }] as const];
      }),
    );
  }

  private change(id: string, fields: (row: MemoryDelivery) => Partial<MemoryDelivery>): void {
    const row = this.database.deliveries.get(id)!;
    this.database.put({ ...row, ...fields(row), updatedAtMs: this.nowMs });
  }
}
