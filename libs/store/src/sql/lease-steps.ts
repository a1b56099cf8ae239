import { sql, type Transaction } from 'kysely';
import {
  stateAfter,
  statesFrom,
  type AttemptRow,
  type HeldDelivery,
  type LeaseCandidate,
  type LeaseSteps,
  type LeaseTransition,
  type StoredBody,
} from '@ferry/core';
import type { Database } from '../database';
import { chunks, type SqlContext } from './context';

/** The order each transition takes its candidates in: straight from deliveries_due_idx (migration 8), no sort. */
const ORDER = { takeOver: 'leaseUntilMs', lease: 'nextAttemptAtMs', probe: 'nextAttemptAtMs' } as const satisfies Record<
  LeaseTransition,
  string
>;

/** The lease policy's steps on SQL, in one write transaction (see `LeaseSteps`). */
export class SqlLeaseSteps implements LeaseSteps {
  constructor(
    private readonly trx: Transaction<Database>,
    private readonly nowMs: number,
    private readonly context: SqlContext,
  ) {}

  /** Now on the lease clock (the database's on Postgres). */
  private get now() {
    return this.context.dialect.leaseClock(this.nowMs);
  }

  candidates(destinationId: string, transition: LeaseTransition, limit: number): Promise<LeaseCandidate[]> {
    const { dialect } = this.context;
    const now = this.now;
    // The bodies' sizes, not the bodies: those of the deliveries taken under the byte cap are read afterwards,
    // so a backlog of huge webhooks never loads more than the cap.
    return (
      this.trx
        .selectFrom('deliveries')
        .innerJoin('events', 'events.id', 'deliveries.eventId')
        .select([
          'deliveries.id',
          'deliveries.eventId',
          'deliveries.destinationId',
          'deliveries.attempts',
          'deliveries.windowStartMs',
          'deliveries.interruptions',
          sql<number>`${sql.raw(dialect.bodyBytes)}`.as('bytes'),
        ])
        .where('deliveries.destinationId', '=', destinationId)
        .where('deliveries.state', 'in', statesFrom(transition))
        // A lease taken over ended before now; a delivery leased is due by now; a probe takes any paused one.
        .$if(transition === 'takeOver', (q) => q.where('deliveries.leaseUntilMs', '<', now))
        .$if(transition === 'lease', (q) => q.where('deliveries.nextAttemptAtMs', '<=', now))
        .orderBy(`deliveries.${ORDER[transition]}`)
        .orderBy('deliveries.id')
        .limit(limit)
        .$if(dialect.rowLocks, (q) => q.forUpdate('deliveries').skipLocked())
        .execute()
    );
  }

  inFlight(owner?: string): Promise<HeldDelivery[]> {
    return this.trx
      .selectFrom('deliveries')
      .select(['id', 'attempts', 'interruptions'])
      .where('state', 'in', statesFrom('release'))
      .$if(owner !== undefined, (q) => q.where('leaseOwner', '=', owner!))
      .$if(this.context.dialect.rowLocks, (q) => q.forUpdate())
      .execute();
  }

  async logAttempts(attempts: readonly AttemptRow[]): Promise<void> {
    for (const group of chunks(attempts)) await this.trx.insertInto('attempts').values(group).execute();
  }

  async abandon(deliveryIds: readonly string[], reason: string): Promise<void> {
    for (const ids of chunks(deliveryIds)) {
      await this.trx
        .updateTable('deliveries')
        .set((eb) => ({
          state: stateAfter('abandon'),
          attempts: eb('attempts', '+', 1),
          interruptions: 0,
          nextAttemptAtMs: null,
          leaseUntilMs: null,
          leaseOwner: null,
          lastStatus: null,
          lastError: reason,
          updatedAtMs: this.nowMs,
        }))
        .where('id', 'in', ids)
        .execute();
    }
  }

  async markLeased(
    deliveryIds: readonly string[],
    transition: LeaseTransition,
    lease: { readonly owner: string; readonly leaseMs: number; readonly interrupted: boolean },
  ): Promise<void> {
    for (const ids of chunks(deliveryIds)) {
      await this.trx
        .updateTable('deliveries')
        .set((eb) => ({
          state: stateAfter(transition),
          leaseUntilMs: sql<number>`${this.now} + ${lease.leaseMs}`,
          leaseOwner: lease.owner,
          updatedAtMs: this.nowMs,
          ...(lease.interrupted ? { attempts: eb('attempts', '+', 1), interruptions: eb('interruptions', '+', 1) } : {}),
        }))
        .where('id', 'in', ids)
        .execute();
    }
  }

  async release(deliveryIds: readonly string[], reason: string): Promise<void> {
    for (const ids of chunks(deliveryIds)) {
      await this.trx
        .updateTable('deliveries')
        .set((eb) => ({
          state: stateAfter('release'),
          attempts: eb('attempts', '+', 1),
          interruptions: eb('interruptions', '+', 1),
          leaseUntilMs: null,
          leaseOwner: null,
          lastStatus: null,
          lastError: reason,
          updatedAtMs: this.nowMs,
        }))
        .where('id', 'in', ids)
        .execute();
    }
  }

  async bodies(eventIds: readonly string[]): Promise<ReadonlyMap<string, StoredBody>> {
    const bodies = new Map<string, StoredBody>();
    for (const ids of chunks(eventIds)) {
      const rows = await this.trx.selectFrom('events').select(['id', 'body', 'source']).where('id', 'in', ids).execute();
      for (const row of rows) bodies.set(row.id, { body: row.body, source: row.source });
    }
    return bodies;
  }
}
