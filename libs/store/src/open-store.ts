import type { StoreBackend } from '@ferry/core';
import { PostgresStore, type PostgresStoreOptions } from './postgres-store';
import type { SqlStore } from './sql-store';
import { SqliteStore } from './sqlite-store';

/**
 * Opens the store a URL names and brings its schema up to date: `sqlite:PATH` (the embedded default;
 * the file and its folder are created) or `postgres://…` / `postgresql://…` (scale-out, whose
 * `options.timeouts` bound every wait on the server; SQLite ignores them). Answers its backend: the engine's
 * `composeStore` adds the policies that make its ports.
 */
export async function openStore(url: string, options: PostgresStoreOptions = {}): Promise<StoreBackend> {
  const store = createStore(url, options);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function createStore(url: string, options: PostgresStoreOptions): SqlStore {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length), options);
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresStore(url, options);
  // Name only the scheme: the rest of a URL may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
  throw new Error(
    `store URL ${scheme ? `scheme "${scheme}" is not supported` : 'has no scheme'}: use sqlite:PATH, postgres://… or postgresql://…`,
  );
}
