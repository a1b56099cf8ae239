export { MemoryStore } from './memory-store';
export { MemoryDatabase, type MemoryDelivery } from './database';
