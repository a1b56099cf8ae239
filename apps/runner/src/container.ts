import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Container } from 'inversify';
import pino, { type DestinationStream } from 'pino';
import { TOKENS, systemClock, type AnyDestinationPlugin, type Clock, type Store, type Transport } from '@ferry/core';
import { Dispatcher, UndiciTransport, combineObservers, type DispatcherOptions } from '@ferry/engine';
import { decodeStoredRevenueCatWebhook } from '@ferry/revenuecat';
import { openStore } from '@ferry/store';
import { AdminService } from './admin';
import { DEFAULT_ALERT_TUNING, type AlertTuning } from './alert-target';
import { AlertService } from './alerts';
import { configSecrets, parseConfig, retryPolicy, type ConfigInput, type RunnerConfig } from './config';
import { createLogger, textRedactor, type PinoLogger } from './logging';
import { RunnerMetrics } from './metrics';
import { pluginModules } from './plugins';
import { Retention } from './retention';
import { buildServer, type Lifecycle } from './server';

/** The runner's own services, beside the engine's in core's TOKENS. */
export const RUNNER_TOKENS = {
  /** Where JSON log lines go: stdout. */
  LogStream: Symbol.for('ferry.runner.LogStream'),
  /** Scrubs every configured secret from outgoing text. */
  Redact: Symbol.for('ferry.runner.Redact'),
  /** Alert sending's timeout and retries (not in the config): DEFAULT_ALERT_TUNING. */
  AlertTuning: Symbol.for('ferry.runner.AlertTuning'),
  /** Engine timing the config does not set (poll and probe intervals): the engine's defaults. */
  DispatcherTuning: Symbol.for('ferry.runner.DispatcherTuning'),
  /** Shared by the server and the runner's shutdown. */
  Lifecycle: Symbol.for('ferry.runner.Lifecycle'),
  /** The Fastify app, not yet listening. */
  Server: Symbol.for('ferry.runner.Server'),
} as const;

export type DispatcherTuning = Partial<Omit<DispatcherOptions, 'ownerId' | 'retryPolicy' | 'leaseMs' | 'batchMaxBytes'>>;

/** The offered plugins by their config id; every plugin module binds one `TOKENS.DestinationPlugin`. */
function pluginsById(plugins: readonly AnyDestinationPlugin[]): Map<string, AnyDestinationPlugin> {
  const byId = new Map<string, AnyDestinationPlugin>();
  for (const plugin of plugins) {
    if (byId.has(plugin.id)) throw new Error(`two destination plugins share the id "${plugin.id}"`);
    byId.set(plugin.id, plugin);
  }
  return byId;
}

/** Every destination plugin the runner offers (the registry in plugins.ts). */
export function offeredPlugins(): AnyDestinationPlugin[] {
  const container = new Container();
  container.load(...pluginModules);
  return container.getAll<AnyDestinationPlugin>(TOKENS.DestinationPlugin);
}

const ALL_PLUGINS = { serviceIdentifier: TOKENS.DestinationPlugin, isMultiple: true } as const;

/**
 * The composition root: every runner service, bound with its dependencies, in the order they build on
 * each other. Nothing is built until asked for; the store opens asynchronously, so the store and what
 * needs it are resolved with `getAsync`. Tests replace a binding with `container.rebind(...)`.
 */
export function createRunnerContainer(input: ConfigInput, env: NodeJS.ProcessEnv = process.env): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(...pluginModules);

  container
    .bind<RunnerConfig>(TOKENS.Config)
    .toResolvedValue((plugins: AnyDestinationPlugin[]) => parseConfig(input, pluginsById(plugins), env), [ALL_PLUGINS]);
  container
    .bind<(text: string) => string>(RUNNER_TOKENS.Redact)
    .toResolvedValue((config: RunnerConfig) => textRedactor(configSecrets(config)), [TOKENS.Config]);
  container.bind<DestinationStream>(RUNNER_TOKENS.LogStream).toDynamicValue(() => pino.destination({ dest: 1, sync: true }));
  container
    .bind<PinoLogger>(TOKENS.Logger)
    .toResolvedValue(
      (config: RunnerConfig, stream: DestinationStream) =>
        createLogger({ level: config.log.level, secrets: configSecrets(config), stream }),
      [TOKENS.Config, RUNNER_TOKENS.LogStream],
    );
  container.bind<Clock>(TOKENS.Clock).toConstantValue(systemClock);
  container.bind<() => number>(TOKENS.Random).toConstantValue(Math.random);

  container
    .bind<Store>(TOKENS.Store)
    .toResolvedValue(
      (config: RunnerConfig, logger: PinoLogger) => openStore(config.store.url, { logger, timeouts: config.store }),
      [TOKENS.Config, TOKENS.Logger],
    );
  container.bind<Transport>(TOKENS.Transport).toDynamicValue(() => new UndiciTransport());
  container.bind(RunnerMetrics).toDynamicValue(() => new RunnerMetrics());

  container.bind<AlertTuning>(RUNNER_TOKENS.AlertTuning).toConstantValue(DEFAULT_ALERT_TUNING);
  container
    .bind(AlertService)
    .toResolvedValue(
      (config: RunnerConfig, store: Store, clock: Clock, logger: PinoLogger, redact: (text: string) => string, tuning: AlertTuning) =>
        new AlertService({ config, store, clock, logger, redact, tuning }),
      [TOKENS.Config, TOKENS.Store, TOKENS.Clock, TOKENS.Logger, RUNNER_TOKENS.Redact, RUNNER_TOKENS.AlertTuning],
    );

  container.bind<DispatcherTuning>(RUNNER_TOKENS.DispatcherTuning).toConstantValue({});
  container.bind(Dispatcher).toResolvedValue(
    (
      config: RunnerConfig,
      store: Store,
      transport: Transport,
      clock: Clock,
      logger: PinoLogger,
      random: () => number,
      metrics: RunnerMetrics,
      alerts: AlertService,
      tuning: DispatcherTuning,
    ) =>
      new Dispatcher({
        store,
        transport,
        clock,
        logger,
        random,
        decode: decodeStoredRevenueCatWebhook,
        // A destination that cannot send yet gets a loop too: its health keeps its deliveries paused, visibly.
        destinations: config.destinations,
        options: {
          ...tuning,
          retryPolicy: retryPolicy(config),
          leaseMs: config.delivery.leaseMs,
          batchMaxBytes: config.delivery.batchMaxBytes,
          ownerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        },
        observer: combineObservers(metrics, alerts),
      }),
    [
      TOKENS.Config,
      TOKENS.Store,
      TOKENS.Transport,
      TOKENS.Clock,
      TOKENS.Logger,
      TOKENS.Random,
      RunnerMetrics,
      AlertService,
      RUNNER_TOKENS.DispatcherTuning,
    ],
  );

  container
    .bind(Retention)
    .toResolvedValue(
      (config: RunnerConfig, store: Store, clock: Clock, logger: PinoLogger) =>
        new Retention({ store, clock, logger, settings: config.retention }),
      [TOKENS.Config, TOKENS.Store, TOKENS.Clock, TOKENS.Logger],
    );

  container
    .bind(AdminService)
    .toResolvedValue(
      (config: RunnerConfig, store: Store, clock: Clock, dispatcher: Dispatcher) =>
        new AdminService({ destinations: config.destinations, store, clock, dispatcher }),
      [TOKENS.Config, TOKENS.Store, TOKENS.Clock, Dispatcher],
    );

  container.bind<Lifecycle>(RUNNER_TOKENS.Lifecycle).toDynamicValue(() => ({ accepting: true }));
  container
    .bind<FastifyInstance>(RUNNER_TOKENS.Server)
    .toResolvedValue(
      (
        config: RunnerConfig,
        logger: PinoLogger,
        store: Store,
        dispatcher: Dispatcher,
        admin: AdminService,
        metrics: RunnerMetrics,
        clock: Clock,
        redact: (text: string) => string,
        lifecycle: Lifecycle,
      ) => buildServer({ config, logger, store, dispatcher, admin, metrics, clock, redact, lifecycle }),
      [
        TOKENS.Config,
        TOKENS.Logger,
        TOKENS.Store,
        Dispatcher,
        AdminService,
        RunnerMetrics,
        TOKENS.Clock,
        RUNNER_TOKENS.Redact,
        RUNNER_TOKENS.Lifecycle,
      ],
    );
  return container;
}
