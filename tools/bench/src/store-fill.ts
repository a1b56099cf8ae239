import type { IngestEvent, NewDelivery } from '@ferry/core';
import { openStore } from '@ferry/store';
import { DESTINATION_ID, ingestEvent } from './payload';
import { round } from './stats';

/** Ingests submitted at once: the store's group commit takes them in transactions of a few hundred. */
const WAVE = 2_000;

export interface FillFigures {
  readonly events: number;
  readonly seconds: number;
  readonly perSecond: number;
}

export interface FillOptions {
  readonly count: number;
  readonly idPrefix: string;
  readonly state: NewDelivery['state'];
  readonly reason?: string;
  /** When the events count as received (epoch ms; default now): long ago makes them due for retention. */
  readonly receivedAtMs?: number;
  /** Every `every`-th event (the first included) names this user instead of the fixture's: events to erase, spread among others. */
  readonly spreadUser?: { readonly userId: string; readonly every: number };
  /** Opens the store: another build's for interleaved A/B runs (its schema); default this checkout's. */
  readonly open?: (storeUrl: string) => Promise<FillTarget>;
}

/** What filling needs of a store, whatever build it comes from. */
export interface FillTarget {
  ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<'stored' | 'duplicate'>;
  storedEvents(): Promise<number>;
  close(): Promise<void>;
}

/** A store of any build: one object (before the store was split into ports) or its ports (`queue`, `log`). */
export type StoreOfAnyBuild = { close(): Promise<void> } & (
  | (Pick<FillTarget, 'ingest'> & { stats(nowMs: number): Promise<{ events: number }> })
  | { queue: Pick<FillTarget, 'ingest'>; log: { stats(nowMs: number): Promise<{ events: number }> } }
);

export function fillTargetOf(store: StoreOfAnyBuild): FillTarget {
  const [queue, log] = 'queue' in store ? [store.queue, store.log] : [store, store];
  return {
    ingest: (event, deliveries, nowMs) => queue.ingest(event, deliveries, nowMs),
    storedEvents: async () => (await log.stats(Date.now())).events,
    close: () => store.close(),
  };
}

/** This checkout's store, as a fill target. */
export async function openFillTarget(storeUrl: string): Promise<FillTarget> {
  return fillTargetOf(await openStore(storeUrl));
}

/**
 * Adds `count` events straight through the store's `ingest` (the port the runner uses, without HTTP), each
 * with one delivery in `state`: the quick way to a store of a million events. Returns how many the store
 * holds afterwards.
 */
export async function fillStore(
  storeUrl: string,
  options: FillOptions,
  progress: (done: number) => void = () => {},
): Promise<FillFigures & { readonly storedEvents: number }> {
  const fixtureUser = ingestEvent();
  const spread = options.spreadUser;
  const spreadUser = spread && ingestEvent(spread.userId);
  const event = (n: number) => (spread && spreadUser && n % spread.every === 0 ? spreadUser : fixtureUser)(`${options.idPrefix}-${n}`);
  const deliveries: NewDelivery[] = [{ destinationId: DESTINATION_ID, state: options.state, reason: options.reason }];
  const store = await (options.open ?? openFillTarget)(storeUrl);
  try {
    const started = performance.now();
    for (let done = 0; done < options.count;) {
      const wave = Math.min(WAVE, options.count - done);
      const nowMs = options.receivedAtMs ?? Date.now();
      const results = await Promise.all(Array.from({ length: wave }, (_, i) => store.ingest(event(done + i), deliveries, nowMs)));
      if (results.includes('duplicate')) throw new Error(`fill ids ${options.idPrefix}-* are already in the store`);
      done += wave;
      progress(done);
    }
    const seconds = (performance.now() - started) / 1000;
    const storedEvents = await store.storedEvents();
    return {
      events: options.count,
      seconds: round(seconds),
      perSecond: seconds > 0 ? Math.round(options.count / seconds) : 0,
      storedEvents,
    };
  } finally {
    await store.close();
  }
}

/** How many events the store holds. */
export async function storedEvents(storeUrl: string): Promise<number> {
  const store = await openFillTarget(storeUrl);
  try {
    return await store.storedEvents();
  } finally {
    await store.close();
  }
}
