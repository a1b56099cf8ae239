import type { Coordination } from './coordination';
import type { DeliveryQueue } from './delivery-queue';
import type { EventLog } from './event-log';
import type { Maintenance } from './maintenance';

/**
 * The store: the union of its ports, which the composition root opens and closes. Everything else takes
 * only the port it uses.
 */
export interface Store extends DeliveryQueue, EventLog, Maintenance, Coordination {
  /** Creates or upgrades the schema; safe when several runners start at once. */
  migrate(): Promise<void>;
  /**
   * Throws when the store cannot be reached, or cannot take new events: its file is gone, or its last commit
   * failed and a small write still does (a full disk) — a `StoreUnavailableError` saying so.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
