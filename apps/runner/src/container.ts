import { Container, type ContainerModule } from 'inversify';
import {
  TOKENS,
  type AnyDestinationPlugin,
  type Clock,
  type Logger,
  type Store,
  type SubscriptionEvent,
  type Transport,
} from '@ferry/core';
import { Dispatcher, type DispatcherOptions, type EngineObserver } from '@ferry/engine';
import { parseRevenueCatWebhookText } from '@ferry/revenuecat';
import { retryPolicy, type RunnerConfig } from './config';
import { pluginModules } from './plugins';

/** A container holding every destination plugin the runner offers (the registry in plugins.ts). */
export function createPluginContainer(modules: readonly ContainerModule[] = pluginModules): Container {
  const container = new Container();
  container.load(...modules);
  return container;
}

/** The offered plugins by their config id. */
export function pluginsById(container: Container): Map<string, AnyDestinationPlugin> {
  const plugins = new Map<string, AnyDestinationPlugin>();
  for (const plugin of container.getAll<AnyDestinationPlugin>(TOKENS.DestinationPlugin)) {
    if (plugins.has(plugin.id)) throw new Error(`two destination plugins share the id "${plugin.id}"`);
    plugins.set(plugin.id, plugin);
  }
  return plugins;
}

export interface RunnerServices {
  readonly config: RunnerConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: Store;
  readonly transport: Transport;
  readonly random: () => number;
  readonly observer: EngineObserver;
  readonly dispatcherOptions: Partial<DispatcherOptions> & Pick<DispatcherOptions, 'ownerId'>;
}

/**
 * The composition root: binds the engine's services by their core tokens and the dispatcher built from
 * them, over only the destinations that can send (the others keep their deliveries paused).
 */
export function bindRunnerServices(container: Container, services: RunnerServices): void {
  container.bind(TOKENS.Config).toConstantValue(services.config);
  container.bind(TOKENS.Logger).toConstantValue(services.logger);
  container.bind(TOKENS.Clock).toConstantValue(services.clock);
  container.bind(TOKENS.Store).toConstantValue(services.store);
  container.bind(TOKENS.Transport).toConstantValue(services.transport);
  container.bind(TOKENS.Random).toConstantValue(services.random);
  container
    .bind(Dispatcher)
    .toDynamicValue(
      (context) =>
        new Dispatcher({
          store: context.get<Store>(TOKENS.Store),
          transport: context.get<Transport>(TOKENS.Transport),
          clock: context.get<Clock>(TOKENS.Clock),
          logger: context.get<Logger>(TOKENS.Logger),
          random: context.get<() => number>(TOKENS.Random),
          decode: decodeStoredWebhook,
          destinations: context
            .get<RunnerConfig>(TOKENS.Config)
            .destinations.filter((destination) => (destination.plugin.missingConfig?.(destination.settings) ?? []).length === 0),
          options: { retryPolicy: retryPolicy(services.config), leaseMs: services.config.delivery.leaseMs, ...services.dispatcherOptions },
          observer: services.observer,
        }),
    )
    .inSingletonScope();
}

/** A stored webhook body back to its event; stored bodies were valid at ingest, so a failure here is a bug. */
function decodeStoredWebhook(body: string): SubscriptionEvent {
  const parsed = parseRevenueCatWebhookText(body);
  if (!parsed.ok) {
    throw new Error(`stored webhook no longer parses: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  }
  return parsed.value;
}
