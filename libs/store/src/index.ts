export { openStore } from './open-store';
export { SqliteStore } from './sqlite-store';
export { PostgresStore } from './postgres-store';
export type { StoreOptions } from './sql-store';
