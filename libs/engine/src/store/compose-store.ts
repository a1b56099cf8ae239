import { silentLogger, type Logger, type Store, type StoreBackend } from '@ferry/core';
import { BatchedMaintenance } from './batched-maintenance';
import { LeasingQueue } from './leasing-queue';

export interface ComposeStoreOptions {
  /** Where the policies log (a delivery set aside as dead, say); nowhere when absent. */
  readonly logger?: Logger;
}

/**
 * A store's ports from its backend: the engine's policies over the backends they need, the other ports as
 * the store gives them. What the runner's container and the store contract both use, so every store runs
 * the same policy.
 */
export function composeStore(backend: StoreBackend, options: ComposeStoreOptions = {}): Store {
  const logger = options.logger ?? silentLogger;
  return {
    queue: new LeasingQueue(backend.queue, { logger }),
    log: backend.log,
    maintenance: new BatchedMaintenance(backend.maintenance),
    coordination: backend.coordination,
    erasures: backend.erasures,
    activity: backend.activity,
    migrate: () => backend.migrate(),
    ping: () => backend.ping(),
    close: () => backend.close(),
  };
}
