import type { StoreBackend } from '@ferry/core';
import { MemoryActivityLog } from './activity';
import { MemoryCoordination } from './coordination';
import { MemoryDatabase, type MemoryConnection, type MemoryDelivery } from './database';
import { MemoryErasureJobs } from './erasure-jobs';
import { MemoryEventLog } from './event-log';
import { MemoryMaintenance } from './maintenance';
import { MemoryQueue } from './queue';

/**
 * The store's backend in memory, for the engine's tests (which may not import @ferry/store): its parts over a
 * `MemoryDatabase` that several stores may share, like runners sharing one database. The engine's
 * `composeStore` adds its policies, as for the SQL stores, and the result passes the same contract suite
 * (@ferry/store-contract), so engine tests cannot pass on behaviour the real stores lack.
 */
export class MemoryStore implements StoreBackend {
  readonly queue: MemoryQueue;
  readonly log: MemoryEventLog;
  readonly maintenance: MemoryMaintenance;
  readonly coordination: MemoryCoordination;
  readonly erasures: MemoryErasureJobs;
  readonly activity: MemoryActivityLog;
  private closed = false;

  constructor(private readonly database = new MemoryDatabase()) {
    const connection: MemoryConnection = {
      database,
      open: () => {
        if (this.closed) throw new Error('store is closed');
      },
    };
    this.queue = new MemoryQueue(connection);
    this.log = new MemoryEventLog(connection);
    this.maintenance = new MemoryMaintenance(connection);
    this.coordination = new MemoryCoordination(connection);
    this.erasures = new MemoryErasureJobs(connection);
    this.activity = new MemoryActivityLog(connection);
  }

  /** Every `complete` call, to check outcomes are written together. */
  get completions() {
    return this.queue.completions;
  }

  async migrate(): Promise<void> {}

  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Every delivery (of one destination), in the order they were stored. */
  rows(destinationId?: string): MemoryDelivery[] {
    return this.database.rows(destinationId);
  }

  row(eventId: string, destinationId: string): MemoryDelivery {
    const row = this.rows(destinationId).find((candidate) => candidate.eventId === eventId);
    if (!row) throw new Error(`no delivery of ${eventId} to ${destinationId}`);
    return row;
  }
}
