/// <reference types="jest" />
import type { Store } from '@ferry/core';

/** A store backend under test: how to get a fresh, empty database for each case. */
export interface StoreFactory {
  /** A fresh, empty database. */
  fresh(): Promise<StoreDatabase>;
}

export interface StoreDatabase {
  /** A store on this database, migrated; may be called several times (a restart, several runners sharing it). */
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

/** What a port's cases use: stores on the case's database, closed after it, and a look at one delivery. */
export interface ContractDatabase {
  /** A store on the case's database: the first, another runner, or the same one after a restart. */
  open(): Promise<Store>;
  /** The delivery of `eventId` to `destinationId`, as the event log shows it. */
  deliveryOf(store: Store, eventId: string, destinationId?: string): ReturnType<typeof findDelivery>;
}

/** Gives every case of the enclosing `describe` a fresh database, and closes its stores and the database after it. */
export function contractDatabase(factory: StoreFactory): ContractDatabase {
  let database: StoreDatabase;
  let opened: Store[];

  beforeEach(async () => {
    database = await factory.fresh();
    opened = [];
  });

  afterEach(async () => {
    await Promise.all(opened.map((store) => store.close()));
    await database.dispose();
  });

  return {
    async open() {
      const store = await database.open();
      opened.push(store);
      return store;
    },
    deliveryOf: findDelivery,
  };
}

async function findDelivery(store: Store, eventId: string, destinationId = 'ct') {
  const detail = await store.log.getEvent(eventId);
  const delivery = detail?.deliveries.find((d) => d.destinationId === destinationId);
  if (!delivery) throw new Error(`no delivery of ${eventId} to ${destinationId}`);
  return delivery;
}
