import type { ActivityLog } from './activity';
import type { Coordination } from './coordination';
import type { DeliveryQueue } from './delivery-queue';
import type { ErasureJobs } from './erasure-jobs';
import type { EventLog } from './event-log';
import type { Maintenance } from './maintenance';
import type { MaintenanceBackend } from './maintenance-backend';
import type { QueueBackend } from './queue-backend';

/**
 * The store, as the composition root opens and closes it: its ports, each a separate object, and its
 * lifecycle. Everything else takes only the port it uses (`TOKENS.DeliveryQueue`, …).
 */
export interface Store extends StoreLifecycle {
  readonly queue: DeliveryQueue;
  readonly log: EventLog;
  readonly maintenance: Maintenance;
  readonly coordination: Coordination;
  readonly erasures: ErasureJobs;
  readonly activity: ActivityLog;
}

export interface StoreLifecycle {
  /** Creates or upgrades the schema; safe when several runners start at once. */
  migrate(): Promise<void>;
  /**
   * Throws when the store cannot be reached, or cannot take new events: its file is gone, or its last commit
   * failed and a small write still does (a full disk) — a `StoreUnavailableError` saying so.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a store implementation provides: small backends for the ports whose policy the engine writes once
 * (the delivery queue's leases, maintenance's batching), the other ports as they are, and its lifecycle. The
 * engine's `composeStore` makes a `Store` of it; adding a store means implementing this, nothing else.
 */
export interface StoreBackend extends StoreLifecycle {
  readonly queue: QueueBackend;
  readonly log: EventLog;
  readonly maintenance: MaintenanceBackend;
  readonly coordination: Coordination;
  readonly erasures: ErasureJobs;
  readonly activity: ActivityLog;
}
