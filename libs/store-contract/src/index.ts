/// <reference types="jest" />
import { describeActivityContract } from './activity.contract';
import { describeCoordinationContract } from './coordination.contract';
import type { StoreFactory } from './database';
import { describeDeliveryQueueContract } from './delivery-queue.contract';
import { describeErasureJobsContract } from './erasure-jobs.contract';
import { describeEventLogContract } from './event-log.contract';
import { describeLeasePolicyContract } from './lease-policy.contract';
import { describeMaintenanceContract } from './maintenance.contract';
import { describeTransitionsContract } from './transitions.contract';

/**
 * The store's contract, one suite per port, as the engine and runner rely on it. A store under test gives
 * its backend (`StoreBackend`); the suites compose it with the engine's policies, as the runner does, so a
 * new store passes by implementing the backend alone. `@ferry/store` runs it on SQLite and Postgres, and
 * memory.spec.ts on the in-memory store the engine's tests use, so no store can drift from the others.
 * Test support only: it runs inside the caller's Jest, and nothing of it ships with a store.
 */
export function describeStoreContract(factory: StoreFactory): void {
  describe('the Store contract', () => {
    describeDeliveryQueueContract(factory);
    describeLeasePolicyContract(factory);
    describeEventLogContract(factory);
    describeMaintenanceContract(factory);
    describeCoordinationContract(factory);
    describeErasureJobsContract(factory);
    describeActivityContract(factory);
    describeTransitionsContract(factory);
  });
}

export {
  describeActivityContract,
  describeCoordinationContract,
  describeDeliveryQueueContract,
  describeErasureJobsContract,
  describeEventLogContract,
  describeMaintenanceContract,
  describeTransitionsContract,
};
export { contractDatabase, type ContractDatabase, type LoggedLine, type StoreDatabase, type StoreFactory } from './database';
/** How a store's tests get its ports from its backend: the engine's composition, as the runner makes it. */
export { composeStore } from '@ferry/engine';
export * from './fixtures';
export { erasureJob } from './erasure-jobs.contract';
