import type { ServerResponse } from 'node:http';
import { ingestEventOf, systemClock, type Clock, type OutcomeType, type SubscriptionEvent } from '@ferry/core';
import { MemoryStore } from '@ferry/testkit';
import {
  composeStore,
  Dispatcher,
  planDeliveries,
  UndiciTransport,
  type DestinationInstance,
  type DestinationStatus,
  type DispatcherOptions,
} from '../index';
import { sendJson, startServer, type ReceivedRequest, type TestServer } from './http-server';
import { captureLogger } from './logger';
import { decodeEvent, encodeEvent, makeEvent } from './test-plugin';

/** The test destination's api key: long and distinctive, so a leak is found by a plain substring search. */
export const apiKey = 'sk_test_4f9a8b7c6d5e';
export const T0 = 1_700_000_000_000;

let cleanups: (() => Promise<void>)[] = [];

/** Stops what the test started, newest first; every cleanup runs even when one fails (a leaked secret, say). Call it in afterEach. */
export async function runCleanups(): Promise<void> {
  const pending = cleanups.reverse();
  cleanups = [];
  const failures: unknown[] = [];
  for (const cleanup of pending) await cleanup().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
}

/** A destination server for one test, closed by `runCleanups`. */
export async function server(handler: (request: ReceivedRequest, response: ServerResponse) => void): Promise<TestServer> {
  const started = await startServer(handler);
  cleanups.push(() => started.close());
  return started;
}

export const ok = (_request: ReceivedRequest, response: ServerResponse) => sendJson(response, 200, { status: 'success' });

/** A clock the test moves by hand. */
export function manualClock(start = T0): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

export interface Setup {
  destinations: DestinationInstance[];
  options?: Partial<DispatcherOptions>;
  clock?: Clock;
  random?: () => number;
  store?: MemoryStore;
}

/**
 * A dispatcher over an in-memory store and the real transport; stopped (and checked for leaked secrets) by `runCleanups`.
 * `store` is the store's backend (its rows and completions are there to look at); `queue` the delivery queue the
 * dispatcher uses, the engine's lease policy over it.
 */
export function setup({ destinations, options, clock = systemClock, random, store = new MemoryStore() }: Setup) {
  const logger = captureLogger();
  const { queue, coordination } = composeStore(store, { logger });
  const statusChanges: DestinationStatus[] = [];
  const attempts: { destinationId: string; outcome: OutcomeType; deliveries: number }[] = [];
  const deadReports: { destinationId: string; count: number; firstError: string | null }[] = [];
  const transport = new UndiciTransport();
  const dispatcher = new Dispatcher({
    queue,
    coordination,
    transport,
    clock,
    logger,
    decode: decodeEvent,
    destinations,
    options: { pollMs: 20, pausedProbeMs: 50, ...options },
    random,
    observer: {
      attempt: (destinationId, outcome, deliveries) => attempts.push({ destinationId, outcome, deliveries }),
      statusChanged: (status) => statusChanges.push(status),
      deliveriesDead: (destinationId, count, firstError) => deadReports.push({ destinationId, count, firstError }),
    },
  });
  cleanups.push(async () => {
    await dispatcher.stop();
    await transport.close();
    expect(JSON.stringify(logger.entries)).not.toContain(apiKey);
  });

  /** Stores the event with the deliveries ingest would plan, then notifies, as the runner does. */
  async function ingest(event: SubscriptionEvent = makeEvent()): Promise<SubscriptionEvent> {
    await queue.ingest(
      ingestEventOf(event, encodeEvent(event)),
      planDeliveries(event, destinations, dispatcher.pausedDestinationIds()),
      clock.now(),
    );
    dispatcher.notify();
    return event;
  }

  const statesOf = (destinationId: string) => store.rows(destinationId).map((row) => row.state);
  const allIn = (destinationId: string, state: string) => () => {
    const states = statesOf(destinationId);
    return states.length > 0 && states.every((candidate) => candidate === state);
  };
  return { store, queue, logger, dispatcher, ingest, statusChanges, attempts, deadReports, statesOf, allIn };
}
