export {
  startFakeBraze,
  type BrazeDeletion,
  type BrazeLoggedRequest,
  type BrazeProfile,
  type DroppedBrazeObject,
  type FakeBraze,
  type FakeBrazeOptions,
  type StoredBrazeObject,
} from './server';
export { FakeBrazeInputError, parseBrazeFaults, type FakeBrazeFault } from './faults';
export { runFakeBrazeCli, FAKE_BRAZE_USAGE } from './cli';
