export {
  startFakeCleverTap,
  type FakeCleverTap,
  type FakeCleverTapOptions,
  type LoggedRequest,
  type StoredDeletion,
  type StoredRecord,
} from './server';
export { FakeCleverTapInputError, type FakeFault, type RandomFaultRates, type UnprocessedFault } from './faults';
export type { UnprocessedEntry } from './validation';
