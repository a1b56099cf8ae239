import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Container } from 'inversify';
import { TOKENS, type Store, type Transport } from '@ferry/core';
import { Dispatcher, releaseCrashedLeases } from '@ferry/engine';
import { AdminService } from './admin';
import { AlertService } from './alerts';
import { configNotes, type ConfigInput, type ConfigLocation, type RunnerConfig } from './config';
import { createRunnerContainer, RUNNER_TOKENS } from './container';
import type { PinoLogger } from './logging';
import type { Lifecycle } from './server';
import { Retention } from './retention';
import { lockSqliteStore } from './store-lock';

export interface RunnerOptions {
  /** Where `${VAR}` references are read from; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the config came from, for the start-up notes. */
  readonly configSource?: ConfigLocation;
  /** Replaces bindings before anything is built, e.g. `container.rebind(TOKENS.Clock).toConstantValue(clock)`. */
  readonly configure?: (container: Container) => void;
}

export interface Runner {
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly admin: AdminService;
  readonly alerts: AlertService;
  /** The background retention job; tests run a round at once with `retention.run()`. */
  readonly retention: Retention;
  readonly config: RunnerConfig;
  /** Graceful stop: readiness and webhooks answer 503, in-flight deliveries finish, the store closes. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a runner from the services its container (container.ts) builds: validates the config, opens
 * the store, starts the dispatcher and listens. Throws a ConfigError naming every problem, or the
 * (redacted) cause of a failed start.
 */
export async function createRunner(input: ConfigInput, options: RunnerOptions = {}): Promise<Runner> {
  const container = createRunnerContainer(input, options.env);
  options.configure?.(container);
  const config = container.get<RunnerConfig>(TOKENS.Config);
  const logger = container.get<PinoLogger>(TOKENS.Logger);
  const redact = container.get<(text: string) => string>(RUNNER_TOKENS.Redact);
  const undo: (() => Promise<unknown>)[] = [];
  try {
    for (const note of configNotes(config, options.configSource)) logger.warn({}, note);
    // The embedded store has one runner, so what it finds in flight was its own before a crash: the lock makes that true.
    const sqlite = config.store.url.startsWith('sqlite:');
    const unlock = sqlite ? lockSqliteStore(config.store.url.slice('sqlite:'.length)) : () => undefined;
    undo.push(async () => unlock());
    const store = await container.getAsync<Store>(TOKENS.Store);
    undo.push(() => store.close());
    if (sqlite) await releaseCrashedLeases(store, logger);
    const transport = container.get<Transport>(TOKENS.Transport);
    undo.push(() => transport.close());
    const app = await container.getAsync<FastifyInstance>(RUNNER_TOKENS.Server);
    undo.push(() => app.close());
    const alerts = await container.getAsync(AlertService);
    undo.push(() => alerts.stop());
    alerts.start();
    const dispatcher = container.get(Dispatcher);
    dispatcher.start();
    undo.push(() => dispatcher.stop());
    const retention = await container.getAsync(Retention);
    retention.start();
    undo.push(() => retention.stop());
    await app.listen({ host: config.server.host, port: config.server.port });
    const url = listeningUrl(app);
    logger.info(
      { url, destinations: config.destinations.map((destination) => destination.id), store: config.store.url.split(':')[0] },
      `ferry runner listening on ${url}`,
    );

    const lifecycle = container.get<Lifecycle>(RUNNER_TOKENS.Lifecycle);
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        lifecycle.accepting = false;
        logger.info({}, 'shutting down: refusing webhooks, finishing in-flight deliveries');
        // Retention first (it stops after its batch); alerts after the dispatcher: a batch that finishes while it
        // stops may still report dead deliveries.
        await runAll([
          () => retention.stop(),
          () => dispatcher.stop(),
          () => alerts.stop(),
          () => app.close(),
          () => store.close(),
          () => transport.close(),
          async () => unlock(),
        ]);
        logger.info({}, 'stopped');
      })());
    return { url, app, store, dispatcher, retention, admin: container.get(AdminService), alerts, config, close };
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await runAll(undo.reverse()).catch(() => undefined);
    throw new Error(`failed to start: ${redact((error as Error).message ?? String(error))}`);
  }
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
