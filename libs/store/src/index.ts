export { openStore } from './open-store';
export { SqliteStore } from './sqlite-store';
export { DEFAULT_POSTGRES_TIMEOUTS, PostgresStore, type PostgresStoreOptions, type PostgresTimeouts } from './postgres-store';
export type { StoreOptions } from './sql-store';
export { backupSqliteStore } from './sqlite-backup';
