import { describeStoreContract } from '@ferry/store-contract';
import { MemoryDatabase, MemoryStore } from './memory-store';

// The engine's tests run on this double: it must keep the same contract as the real stores.
describe('memory store', () => {
  describeStoreContract({
    async fresh() {
      const database = new MemoryDatabase();
      return { open: async () => new MemoryStore(database), dispose: async () => undefined };
    },
  });
});
