import { TOKENS } from '@ferry/core';
import { releaseCrashedLeases } from '@ferry/engine';
import { RUNNER_TOKENS } from './container';
import type { Needs, Resolved, ServiceContainer } from './service-container';

/** One part of the runner that starts and stops, with the services it starts, read from the container. */
export interface StartStep<N extends Needs = Needs> {
  readonly name: string;
  readonly uses: N;
  start?(services: Resolved<N>): unknown;
  /** Runs once the services are built, even when `start` failed part way. */
  stop(services: Resolved<N>): unknown;
}

/** Types a step from its `uses`, then keeps it in a list of any steps. */
function step<N extends Needs>(definition: StartStep<N>): StartStep {
  return definition as unknown as StartStep;
}

/**
 * What the runner starts, in this order; it stops in reverse, and a failed start undoes what started, in
 * reverse. So on shutdown: retention stops first (after its batch), then the erasure worker (after its request)
 * and the dispatcher (finishing what is in
 * flight), alerts after it (a batch that finishes while it stops may still report dead deliveries), the
 * server (answering 503 meanwhile), the store (after the last activity counts), the transport, and the SQLite lock last.
 */
export const START_ORDER: readonly StartStep[] = [
  step({
    // Before the store opens: its runner is the only one, so what it finds in flight was its own.
    name: 'store lock',
    uses: { lock: RUNNER_TOKENS.StoreLock },
    start: ({ lock }) => lock.acquire(),
    stop: ({ lock }) => lock.release(),
  }),
  step({ name: 'transport', uses: { transport: TOKENS.Transport }, stop: ({ transport }) => transport.close() }),
  step({
    name: 'store',
    uses: {
      store: TOKENS.Store,
      queue: TOKENS.DeliveryQueue,
      activity: RUNNER_TOKENS.Activity,
      config: RUNNER_TOKENS.Config,
      logger: RUNNER_TOKENS.Logger,
    },
    start: async ({ queue, config, logger }) => {
      if (config.store.url.startsWith('sqlite:')) await releaseCrashedLeases(queue, logger);
    },
    // Everything that counts activity has stopped by now (server, dispatcher): its last counts go in before the store closes.
    stop: async ({ store, activity }) => {
      try {
        await activity.stop();
      } finally {
        await store.close();
      }
    },
  }),
  step({
    name: 'server',
    uses: { app: RUNNER_TOKENS.Server, config: RUNNER_TOKENS.Config },
    start: ({ app, config }) => app.listen({ host: config.server.host, port: config.server.port }),
    stop: ({ app }) => app.close(),
  }),
  step({
    name: 'alerts',
    uses: { alerts: RUNNER_TOKENS.Alerts },
    start: ({ alerts }) => alerts.start(),
    stop: ({ alerts }) => alerts.stop(),
  }),
  step({
    // The runner's senders: deliveries, and erasures at the destinations (which stop first, after their request).
    name: 'dispatcher',
    uses: { dispatcher: RUNNER_TOKENS.Dispatcher, erasures: RUNNER_TOKENS.Erasures },
    start: ({ dispatcher, erasures }) => {
      dispatcher.start();
      erasures.start();
    },
    stop: async ({ dispatcher, erasures }) => {
      try {
        await erasures.stop();
      } finally {
        await dispatcher.stop();
      }
    },
  }),
  step({
    // The background jobs: retention, and the activity's flushes, started last so that no flush writes to the
    // store while a start step does (the store step flushes what is left as it stops).
    name: 'retention',
    uses: { retention: RUNNER_TOKENS.Retention, activity: RUNNER_TOKENS.Activity },
    start: ({ retention, activity }) => {
      retention.start();
      activity.start();
    },
    stop: ({ retention }) => retention.stop(),
  }),
];

/**
 * Starts each step in order and answers what stops them all, in reverse. When a step fails, what was
 * started (that step included, once its services were built) is stopped in reverse and the failure thrown.
 */
export async function startInOrder(services: ServiceContainer, steps: readonly StartStep[]): Promise<() => Promise<void>> {
  const stops: (() => unknown)[] = [];
  const stopAll = () => runAll([...stops].reverse());
  try {
    for (const { uses, start, stop } of steps) {
      const resolved = await services.resolve(uses);
      stops.push(() => stop(resolved));
      await start?.(resolved);
    }
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  return stopAll;
}

/** Runs every step in order even when one fails; rethrows the first failure. */
async function runAll(steps: readonly (() => unknown)[]): Promise<void> {
  let failure: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}
