import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import pino, { type DestinationStream } from 'pino';
import { TOKENS, systemClock, token, type StoreBackend } from '@ferry/core';
import { composeStore, Dispatcher, ErasureWorker, UndiciTransport, combineObservers, type DispatcherOptions } from '@ferry/engine';
import { openStore } from '@ferry/store';
import { AdminService } from './admin';
import { DEFAULT_ALERT_TUNING, type AlertTuning } from './alert-target';
import { AlertService } from './alerts';
import { parseConfig, retryPolicy, type ConfigInput, type RunnerConfig } from './config';
import { configSecrets } from './config-secrets';
import { createLogger, textRedactor, type PinoLogger } from './logging';
import { RunnerMetrics } from './metrics';
import { destinationPlugins, sourcePlugins } from './plugins';
import { Retention } from './retention';
import { storedEventDecoder } from './sources';
import { buildServer, type Lifecycle } from './server';
import { ServiceContainer } from './service-container';
import { storeLockFor, type StoreLock } from './store-lock';

export type DispatcherTuning = Partial<Omit<DispatcherOptions, 'ownerId' | 'retryPolicy' | 'leaseMs' | 'batchMaxBytes'>>;

/** The runner's own services, beside the engine's and the plugins' in core's TOKENS. */
export const RUNNER_TOKENS = {
  /** The validated config; reading it throws a ConfigError naming every problem. */
  Config: token<RunnerConfig>('ferry.runner.Config'),
  /** Where JSON log lines go: stdout (the command line: stderr). */
  LogStream: token<DestinationStream>('ferry.runner.LogStream'),
  Logger: token<PinoLogger>('ferry.runner.Logger'),
  /** Scrubs every configured secret from outgoing text. */
  Redact: token<(text: string) => string>('ferry.runner.Redact'),
  Metrics: token<RunnerMetrics>('ferry.runner.Metrics'),
  /** Alert sending's timeout and retries (not in the config): DEFAULT_ALERT_TUNING. */
  AlertTuning: token<AlertTuning>('ferry.runner.AlertTuning'),
  Alerts: token<AlertService>('ferry.runner.Alerts'),
  /** Engine timing the config does not set (poll and probe intervals): the engine's defaults. */
  DispatcherTuning: token<DispatcherTuning>('ferry.runner.DispatcherTuning'),
  Dispatcher: token<Dispatcher>('ferry.runner.Dispatcher'),
  /** How often an idle erasure worker looks for due jobs (not in the config). */
  ErasurePollMs: token<number>('ferry.runner.ErasurePollMs'),
  /** Works the erasure jobs at the destinations (SPEC §15). */
  Erasures: token<ErasureWorker>('ferry.runner.Erasures'),
  Retention: token<Retention>('ferry.runner.Retention'),
  Admin: token<AdminService>('ferry.runner.Admin'),
  /** Shared by the server and the runner's shutdown. */
  Lifecycle: token<Lifecycle>('ferry.runner.Lifecycle'),
  /** The Fastify app, not yet listening. */
  Server: token<FastifyInstance>('ferry.runner.Server'),
  /** The store as `openStore` opened it (SQLite or Postgres), before the engine's policies make its ports. */
  StoreBackend: token<StoreBackend>('ferry.runner.StoreBackend'),
  /** The runner's hold on its store (the command line takes none: it works beside a running runner). */
  StoreLock: token<StoreLock>('ferry.runner.StoreLock'),
} as const;

/** The store's ports the admin operations use. */
const ADMIN_PORTS = {
  log: TOKENS.EventLog,
  maintenance: TOKENS.Maintenance,
  pauses: TOKENS.Coordination,
  marks: TOKENS.Coordination,
  erasures: TOKENS.ErasureJobs,
} as const;

/** Plugins of one kind by id; two with one id is a mistake in the registry. */
function byId<P extends { readonly id: string }>(plugins: readonly P[], kind: string): Map<string, P> {
  const found = new Map<string, P>();
  for (const plugin of plugins) {
    if (found.has(plugin.id)) throw new Error(`two ${kind} plugins share the id "${plugin.id}"`);
    found.set(plugin.id, plugin);
  }
  return found;
}

/**
 * What the runner and the command line share: the plugins (each bound to its multi-injection token, so a
 * test binds one more beside them), the config (its sources and destinations each with its plugin), the
 * clock and the store. The store
 * opens asynchronously: it and what is built on it are read with `getAsync`. Each composition adds the
 * logger its store logs to.
 */
function bindShared(services: ServiceContainer, input: ConfigInput, env: NodeJS.ProcessEnv): void {
  for (const plugin of destinationPlugins) services.bindValue(TOKENS.DestinationPlugin, plugin);
  for (const source of sourcePlugins) services.bindValue(TOKENS.SourcePlugin, source);

  services.bindFactory(RUNNER_TOKENS.Config, { destinations: TOKENS.DestinationPlugin, sources: TOKENS.SourcePlugin }, (plugins) =>
    parseConfig(
      input,
      { destinations: [...byId(plugins.destinations, 'destination').values()], sources: [...byId(plugins.sources, 'source').values()] },
      env,
    ),
  );
  services.bindFactory(RUNNER_TOKENS.Redact, { config: RUNNER_TOKENS.Config }, ({ config }) => textRedactor(configSecrets(config)));
  services.bindValue(TOKENS.Clock, systemClock);
  services.bindValue(TOKENS.Random, Math.random);
  services.bindFactory(RUNNER_TOKENS.StoreBackend, { config: RUNNER_TOKENS.Config, logger: RUNNER_TOKENS.Logger }, ({ config, logger }) =>
    openStore(config.store.url, { logger, timeouts: config.store }),
  );
  // The engine's policies (leases, maintenance's batches) over the store's backend make its ports.
  services.bindFactory(TOKENS.Store, { backend: RUNNER_TOKENS.StoreBackend, logger: RUNNER_TOKENS.Logger }, ({ backend, logger }) =>
    composeStore(backend, { logger }),
  );
  // Each port on its own token: a service names the one it uses.
  services.bindFactory(TOKENS.DeliveryQueue, { store: TOKENS.Store }, ({ store }) => store.queue);
  services.bindFactory(TOKENS.EventLog, { store: TOKENS.Store }, ({ store }) => store.log);
  services.bindFactory(TOKENS.Maintenance, { store: TOKENS.Store }, ({ store }) => store.maintenance);
  services.bindFactory(TOKENS.Coordination, { store: TOKENS.Store }, ({ store }) => store.coordination);
  services.bindFactory(TOKENS.ErasureJobs, { store: TOKENS.Store }, ({ store }) => store.erasures);
}

/**
 * The runner's composition root: every service bound with what it uses. Nothing is built until asked
 * for; what starts and stops, in which order, is start-order.ts's list. Tests replace a binding
 * (`services.replaceValue(TOKENS.Clock, clock)`) through `createRunner(input, { configure })`.
 */
export function createRunnerContainer(input: ConfigInput, env: NodeJS.ProcessEnv = process.env): ServiceContainer {
  const services = new ServiceContainer();
  bindShared(services, input, env);

  services.bindFactory(RUNNER_TOKENS.LogStream, {}, () => pino.destination({ dest: 1, sync: true }));
  services.bindFactory(RUNNER_TOKENS.Logger, { config: RUNNER_TOKENS.Config, stream: RUNNER_TOKENS.LogStream }, ({ config, stream }) =>
    createLogger({ level: config.log.level, secrets: configSecrets(config), stream }),
  );
  services.bindFactory(RUNNER_TOKENS.StoreLock, { config: RUNNER_TOKENS.Config }, ({ config }) => storeLockFor(config.store.url));
  services.bindFactory(TOKENS.Transport, {}, () => new UndiciTransport());
  services.bindFactory(
    RUNNER_TOKENS.Metrics,
    { config: RUNNER_TOKENS.Config },
    ({ config }) => new RunnerMetrics(config.sources.map((source) => source.id)),
  );

  services.bindValue(RUNNER_TOKENS.AlertTuning, DEFAULT_ALERT_TUNING);
  services.bindFactory(
    RUNNER_TOKENS.Alerts,
    {
      config: RUNNER_TOKENS.Config,
      alerts: TOKENS.Coordination,
      log: TOKENS.EventLog,
      clock: TOKENS.Clock,
      logger: RUNNER_TOKENS.Logger,
      redact: RUNNER_TOKENS.Redact,
      tuning: RUNNER_TOKENS.AlertTuning,
    },
    (deps) => new AlertService(deps),
  );

  services.bindValue(RUNNER_TOKENS.DispatcherTuning, {});
  services.bindFactory(
    RUNNER_TOKENS.Dispatcher,
    {
      config: RUNNER_TOKENS.Config,
      queue: TOKENS.DeliveryQueue,
      coordination: TOKENS.Coordination,
      transport: TOKENS.Transport,
      clock: TOKENS.Clock,
      logger: RUNNER_TOKENS.Logger,
      random: TOKENS.Random,
      metrics: RUNNER_TOKENS.Metrics,
      alerts: RUNNER_TOKENS.Alerts,
      tuning: RUNNER_TOKENS.DispatcherTuning,
    },
    ({ config, metrics, alerts, tuning, ...engine }) =>
      new Dispatcher({
        ...engine,
        decode: storedEventDecoder(config.sources),
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
  );

  services.bindValue(RUNNER_TOKENS.ErasurePollMs, 1_000);
  services.bindFactory(
    RUNNER_TOKENS.Erasures,
    {
      config: RUNNER_TOKENS.Config,
      jobs: TOKENS.ErasureJobs,
      transport: TOKENS.Transport,
      clock: TOKENS.Clock,
      logger: RUNNER_TOKENS.Logger,
      random: TOKENS.Random,
      metrics: RUNNER_TOKENS.Metrics,
      dispatcher: RUNNER_TOKENS.Dispatcher,
      pollMs: RUNNER_TOKENS.ErasurePollMs,
    },
    ({ config, metrics, dispatcher, pollMs, ...deps }) =>
      new ErasureWorker({
        ...deps,
        destinations: config.destinations,
        // The dispatcher's owner id: one name for this runner in every lease it holds.
        options: { ownerId: dispatcher.ownerId, leaseMs: config.delivery.leaseMs, pollMs, retryPolicy: retryPolicy(config) },
        observer: (destinationId, outcome) => metrics.erasure(destinationId, outcome),
      }),
  );

  services.bindFactory(
    RUNNER_TOKENS.Retention,
    { config: RUNNER_TOKENS.Config, maintenance: TOKENS.Maintenance, clock: TOKENS.Clock, logger: RUNNER_TOKENS.Logger },
    ({ config, ...deps }) => new Retention({ ...deps, settings: config.retention }),
  );

  services.bindFactory(
    RUNNER_TOKENS.Admin,
    {
      config: RUNNER_TOKENS.Config,
      ...ADMIN_PORTS,
      clock: TOKENS.Clock,
      transport: TOKENS.Transport,
      dispatcher: RUNNER_TOKENS.Dispatcher,
      erasureWorker: RUNNER_TOKENS.Erasures,
      metrics: RUNNER_TOKENS.Metrics,
    },
    ({ config, metrics, ...deps }) =>
      new AdminService({
        ...deps,
        sources: config.sources,
        destinations: config.destinations,
        webhookCounts: () => metrics.webhookCountsBySource(),
      }),
  );

  services.bindFactory(RUNNER_TOKENS.Lifecycle, {}, () => ({ accepting: true }));
  services.bindFactory(
    RUNNER_TOKENS.Server,
    {
      config: RUNNER_TOKENS.Config,
      logger: RUNNER_TOKENS.Logger,
      queue: TOKENS.DeliveryQueue,
      log: TOKENS.EventLog,
      store: TOKENS.Store,
      dispatcher: RUNNER_TOKENS.Dispatcher,
      admin: RUNNER_TOKENS.Admin,
      metrics: RUNNER_TOKENS.Metrics,
      clock: TOKENS.Clock,
      redact: RUNNER_TOKENS.Redact,
      lifecycle: RUNNER_TOKENS.Lifecycle,
      plugins: TOKENS.DestinationPlugin,
    },
    (deps) => buildServer(deps),
  );
  return services;
}

/** The command line's services: what the runner shares with it, without a server, a dispatcher or jobs. */
export const CLI_TOKENS = {
  /**
   * The admin service without a store: previews webhooks and checks destinations' connections, so
   * `ferry preview` and `ferry destinations check` open none.
   */
  Storeless: token<AdminService>('ferry.cli.Storeless'),
} as const;

export interface CliServicesOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Where the store's warnings go: the command's output is stdout's. */
  readonly stderr: (text: string) => void;
}

/**
 * The command line's composition, from the same shared bindings as the runner's: a command reads the
 * config, the store or the admin service (on that store, with no dispatcher) from here, and only what it
 * reads is built. The caller closes the store and the transport if it read them.
 */
export function createCliContainer(input: ConfigInput, options: CliServicesOptions): ServiceContainer {
  const services = new ServiceContainer();
  bindShared(services, input, options.env);
  services.bindValue(RUNNER_TOKENS.LogStream, { write: options.stderr });
  services.bindFactory(RUNNER_TOKENS.Logger, { config: RUNNER_TOKENS.Config, stream: RUNNER_TOKENS.LogStream }, ({ config, stream }) =>
    createLogger({ level: 'warn', secrets: configSecrets(config), stream }),
  );
  services.bindFactory(
    RUNNER_TOKENS.Admin,
    { config: RUNNER_TOKENS.Config, ...ADMIN_PORTS, clock: TOKENS.Clock },
    ({ config, ...deps }) => new AdminService({ ...deps, sources: config.sources, destinations: config.destinations }),
  );
  // Connection checks only; the caller closes it.
  services.bindFactory(TOKENS.Transport, {}, () => new UndiciTransport());
  services.bindFactory(
    CLI_TOKENS.Storeless,
    { config: RUNNER_TOKENS.Config, transport: TOKENS.Transport },
    ({ config, transport }) => new AdminService({ sources: config.sources, destinations: config.destinations, transport }),
  );
  return services;
}
