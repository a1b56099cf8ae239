/// <reference types="jest" />
import { describeCoordinationContract } from './coordination.contract';
import type { StoreFactory } from './database';
import { describeDeliveryQueueContract } from './delivery-queue.contract';
import { describeEventLogContract } from './event-log.contract';
import { describeMaintenanceContract } from './maintenance.contract';
import { describeTransitionsContract } from './transitions.contract';

/**
 * The store's contract, one suite per port, as the engine and runner rely on it: `@ferry/store` runs it on
 * SQLite and Postgres, and the engine on its in-memory double, so no store can drift from the others.
 * Test support only: it runs inside the caller's Jest, and nothing of it ships with a store.
 */
export function describeStoreContract(factory: StoreFactory): void {
  describe('the Store contract', () => {
    describeDeliveryQueueContract(factory);
    describeEventLogContract(factory);
    describeMaintenanceContract(factory);
    describeCoordinationContract(factory);
    describeTransitionsContract(factory);
  });
}

export {
  describeCoordinationContract,
  describeDeliveryQueueContract,
  describeEventLogContract,
  describeMaintenanceContract,
  describeTransitionsContract,
};
export { contractDatabase, type ContractDatabase, type StoreDatabase, type StoreFactory } from './database';
export * from './fixtures';
