/// <reference types="jest" />
import { composeStore } from '@ferry/engine';
import type { Logger, Store, StoreBackend } from '@ferry/core';

/** A store under test: how to get a fresh, empty database for each case, and the store's backend on it. */
export interface StoreFactory {
  /** A fresh, empty database. */
  fresh(): Promise<StoreDatabase>;
}

export interface StoreDatabase {
  /** The store's backend on this database, migrated; may be called several times (a restart, several runners sharing it). */
  open(): Promise<StoreBackend>;
  dispose(): Promise<void>;
}

/** A line a store or its policies logged. */
export interface LoggedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: object;
  readonly message: string;
}

/** What a port's cases use: stores on the case's database, closed after it, and a look at one delivery. */
export interface ContractDatabase {
  /**
   * A store on the case's database (the first, another runner, or the same one after a restart): its backend
   * with the engine's policies, composed as the runner composes it.
   */
  open(): Promise<Store>;
  /** The store's backend on the case's database, as the store gives it (closed after the case). */
  openBackend(): Promise<StoreBackend>;
  /** A store of `backend` (one `openBackend` gave, perhaps wrapped), composed as `open` composes it. */
  compose(backend: StoreBackend): Store;
  /** The delivery of `eventId` to `destinationId`, as the event log shows it. */
  deliveryOf(store: Store, eventId: string, destinationId?: string): ReturnType<typeof findDelivery>;
  /** What the policies of the case's stores logged so far. */
  logged(): readonly LoggedLine[];
}

/** Gives every case of the enclosing `describe` a fresh database, and closes its stores and the database after it. */
export function contractDatabase(factory: StoreFactory): ContractDatabase {
  let database: StoreDatabase;
  let opened: StoreBackend[];
  let lines: LoggedLine[];

  beforeEach(async () => {
    database = await factory.fresh();
    opened = [];
    lines = [];
  });

  afterEach(async () => {
    await Promise.all(opened.map((store) => store.close()));
    await database.dispose();
  });

  const logger: Logger = {
    debug: (fields, message) => lines.push({ level: 'debug', fields, message }),
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
    child: () => logger,
  };

  const compose = (backend: StoreBackend) => composeStore(backend, { logger });
  const openBackend = async () => {
    const backend = await database.open();
    opened.push(backend);
    return backend;
  };
  return {
    open: async () => compose(await openBackend()),
    openBackend,
    compose,
    deliveryOf: findDelivery,
    logged: () => lines,
  };
}

async function findDelivery(store: Store, eventId: string, destinationId = 'ct') {
  const detail = await store.log.getEvent(eventId);
  const delivery = detail?.deliveries.find((d) => d.destinationId === destinationId);
  if (!delivery) throw new Error(`no delivery of ${eventId} to ${destinationId}`);
  return delivery;
}
