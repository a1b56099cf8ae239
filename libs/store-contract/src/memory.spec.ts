import { MemoryDatabase, MemoryStore } from '@ferry/testkit';
import { describeStoreContract } from './index';

// The engine's tests run on the in-memory store: it must keep the same contract as the real stores.
describe('memory store', () => {
  describeStoreContract({
    async fresh() {
      const database = new MemoryDatabase();
      return { open: async () => new MemoryStore(database), dispose: async () => undefined };
    },
  });
});
