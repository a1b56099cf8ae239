import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { TOKENS, type Store } from '@ferry/core';
import type { Dispatcher, ErasureWorker } from '@ferry/engine';
import type { ActivityRecorder } from './activity';
import type { AdminService } from './admin';
import type { AlertService } from './alerts';
import { configNotes, type ConfigInput, type ConfigLocation, type RunnerConfig } from './config';
import { createRunnerContainer, RUNNER_TOKENS } from './container';
import type { Retention } from './retention';
import type { ServiceContainer } from './service-container';
import { START_ORDER, startInOrder } from './start-order';

export interface RunnerOptions {
  /** Where `${VAR}` references are read from; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the config came from, for the start-up notes. */
  readonly configSource?: ConfigLocation;
  /** Replaces bindings before anything is built, e.g. `services.replaceValue(TOKENS.Clock, clock)`. */
  readonly configure?: (services: ServiceContainer) => void;
}

export interface Runner {
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  /** The erasure worker; tests run a job at once with `erasures.runOnce()`. */
  readonly erasures: ErasureWorker;
  readonly admin: AdminService;
  readonly alerts: AlertService;
  /** The background retention job; tests run a round at once with `retention.run()`. */
  readonly retention: Retention;
  /** The per-minute activity counts; tests store them at once with `activity.flush()`. */
  readonly activity: ActivityRecorder;
  readonly config: RunnerConfig;
  /** Graceful stop: readiness and webhooks answer 503, in-flight deliveries finish, the store closes. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a runner from the services its container (container.ts) builds, in the order start-order.ts
 * lists: validates the config, locks and opens the store, listens, starts the dispatcher and the jobs.
 * Throws a ConfigError naming every problem, or the (redacted) cause of a failed start.
 */
export async function createRunner(input: ConfigInput, options: RunnerOptions = {}): Promise<Runner> {
  const services = createRunnerContainer(input, options.env);
  options.configure?.(services);
  const config = services.get(RUNNER_TOKENS.Config);
  const logger = services.get(RUNNER_TOKENS.Logger);
  const redact = services.get(RUNNER_TOKENS.Redact);
  let stopAll: () => Promise<void>;
  try {
    for (const note of configNotes(config, options.configSource)) logger.warn({}, note);
    stopAll = await startInOrder(services, START_ORDER);
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    throw new Error(`failed to start: ${redact((error as Error).message ?? String(error))}`);
  }
  const app = services.get(RUNNER_TOKENS.Server);
  const lifecycle = services.get(RUNNER_TOKENS.Lifecycle);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      lifecycle.accepting = false;
      logger.info({}, 'shutting down: refusing webhooks, finishing in-flight deliveries');
      await stopAll();
      logger.info({}, 'stopped');
    })());
  const runner: Runner = {
    url: listeningUrl(app),
    app,
    store: await services.getAsync(TOKENS.Store),
    dispatcher: services.get(RUNNER_TOKENS.Dispatcher),
    erasures: services.get(RUNNER_TOKENS.Erasures),
    retention: services.get(RUNNER_TOKENS.Retention),
    activity: services.get(RUNNER_TOKENS.Activity),
    admin: services.get(RUNNER_TOKENS.Admin),
    alerts: services.get(RUNNER_TOKENS.Alerts),
    config,
    close,
  };
  logger.info(
    { url: runner.url, destinations: config.destinations.map((destination) => destination.id), store: config.store.url.split(':')[0] },
    `ferry runner listening on ${runner.url}`,
  );
  return runner;
}

function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
