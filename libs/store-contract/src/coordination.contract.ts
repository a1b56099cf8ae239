/// <reference types="jest" />
import { describeAlertOutboxContract } from './coordination/alerts.contract';
import { describeStoredPausesContract } from './coordination/pauses.contract';
import { describeStateMarksContract } from './coordination/state-marks.contract';
import type { StoreFactory } from './database';

/** Coordination (`Coordination`): destination pauses, alert claims and their outbox, and the ordering guard's marks. */
export function describeCoordinationContract(factory: StoreFactory): void {
  describe('coordination', () => {
    describeStoredPausesContract(factory);
    describeAlertOutboxContract(factory);
    describeStateMarksContract(factory);
  });
}

export { describeAlertOutboxContract, describeStateMarksContract, describeStoredPausesContract };
