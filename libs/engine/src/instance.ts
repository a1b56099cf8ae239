import { secretSettingValues, type AnyDestinationPlugin, type SubscriptionEvent, type Skip } from '@ferry/core';

/** A configured destination: one plugin with validated settings. */
export interface DestinationInstance {
  /** Config `destinations[].id`. */
  readonly id: string;
  readonly plugin: AnyDestinationPlugin;
  /** Already validated by `plugin.settings`. */
  readonly settings: unknown;
  /** Concurrent requests per concurrencyKey; the engine uses min(this, plugin.capabilities.maxConcurrency). */
  readonly concurrency: number;
  /** Per request. */
  readonly timeoutMs: number;
}

/** The engine's cap on concurrent requests per concurrencyKey: the operator's choice, never above the plugin's limit. */
export function concurrencyOf(instance: DestinationInstance): number {
  return Math.max(1, Math.min(instance.concurrency, instance.plugin.capabilities.maxConcurrency));
}

/** What the destination lacks to send at all; empty when its config is complete. */
export function missingConfigOf(instance: DestinationInstance): string[] {
  return instance.plugin.missingConfig?.(instance.settings) ?? [];
}

/** The plugin's verdict on sending `event` to this destination. */
export function skipOf(instance: DestinationInstance, event: SubscriptionEvent): Skip | undefined {
  return instance.plugin.filter(event, instance.settings);
}

/** Every form of the destination's secret setting values, for redaction. */
export function secretValues(instance: DestinationInstance): string[] {
  return secretSettingValues(instance.settings, instance.plugin.secrets);
}
