import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ContainerModule } from 'inversify';
import type { DestinationStream } from 'pino';
import { systemClock, type Clock, type Logger, type Store, type Transport } from '@ferry/core';
import { Dispatcher, releaseCrashedLeases, UndiciTransport, type DispatcherOptions } from '@ferry/engine';
import { openStore } from '@ferry/store';
import { AdminService } from './admin';
import { configNotes, configSecrets, parseConfig, type ConfigInput, type ConfigLocation, type RunnerConfig } from './config';
import { bindRunnerServices, createPluginContainer, pluginsById } from './container';
import { createLogger, textRedactor } from './logging';
import { RunnerMetrics } from './metrics';
import { buildServer, type Lifecycle } from './server';

/** Seams for tests and embedding; a real start needs none of them. */
export interface RunnerOverrides {
  /** Where `${VAR}` references are read from; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where JSON log lines go; stdout by default. */
  readonly logStream?: DestinationStream;
  readonly clock?: Clock;
  readonly transport?: Transport;
  readonly random?: () => number;
  readonly dispatcher?: Partial<Omit<DispatcherOptions, 'ownerId'>>;
  readonly pluginModules?: readonly ContainerModule[];
  /** Where the config came from, for the start-up notes. */
  readonly configSource?: ConfigLocation;
}

export interface Runner {
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly admin: AdminService;
  readonly config: RunnerConfig;
  /** Graceful stop: readiness and webhooks answer 503, in-flight deliveries finish, the store closes. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a runner: validates the config, opens the store, starts the dispatcher and listens. Throws a
 * ConfigError naming every problem, or the (redacted) cause of a failed start.
 */
export async function createRunner(input: ConfigInput, overrides: RunnerOverrides = {}): Promise<Runner> {
  const container = createPluginContainer(overrides.pluginModules);
  const config = parseConfig(input, pluginsById(container), overrides.env);
  const secrets = configSecrets(config);
  const redact = textRedactor(secrets);
  const logger = createLogger({ level: config.log.level, secrets, stream: overrides.logStream });
  const clock = overrides.clock ?? systemClock;
  const undo: (() => Promise<unknown>)[] = [];
  try {
    for (const note of configNotes(config, overrides.configSource)) logger.warn({}, note);
    const store = await openStore(config.store.url, { logger });
    undo.push(() => store.close());
    await prepareDeliveries(store, config, logger);
    const transport = overrides.transport ?? new UndiciTransport();
    undo.push(() => transport.close());
    const metrics = new RunnerMetrics();
    bindRunnerServices(container, {
      config,
      logger,
      clock,
      store,
      transport,
      random: overrides.random ?? Math.random,
      observer: metrics,
      dispatcherOptions: { ...overrides.dispatcher, ownerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}` },
    });
    const dispatcher = container.get(Dispatcher);
    const admin = new AdminService({ destinations: config.destinations, store, clock, dispatcher });
    const lifecycle: Lifecycle = { accepting: true };
    const app = buildServer({ config, logger, store, dispatcher, admin, metrics, clock, redact, lifecycle });
    undo.push(() => app.close());
    dispatcher.start();
    undo.push(() => dispatcher.stop());
    await app.listen({ host: config.server.host, port: config.server.port });
    const url = listeningUrl(app);
    logger.info(
      { url, destinations: config.destinations.map((destination) => destination.id), store: config.store.url.split(':')[0] },
      `ferry runner listening on ${url}`,
    );

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        lifecycle.accepting = false;
        logger.info({}, 'shutting down: refusing webhooks, finishing in-flight deliveries');
        await runAll([() => dispatcher.stop(), () => app.close(), () => store.close(), () => transport.close()]);
        logger.info({}, 'stopped');
      })());
    return { url, app, store, dispatcher, admin, config, close };
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await runAll(undo.reverse()).catch(() => undefined);
    throw new Error(`failed to start: ${redact((error as Error).message ?? String(error))}`);
  }
}

/**
 * Before delivering: in-flight leases of a crashed embedded runner come back at once (it was the only
 * runner). Each destination's paused deliveries follow its config when its loop starts.
 */
async function prepareDeliveries(store: Store, config: RunnerConfig, logger: Logger): Promise<void> {
  if (config.store.url.startsWith('sqlite:')) await releaseCrashedLeases(store, logger);
}

/** Runs every step in order even when one fails; rethrows the first failure. */
async function runAll(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
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

function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
