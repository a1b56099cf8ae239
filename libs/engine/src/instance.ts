import type { AnyDestinationPlugin, SubscriptionEvent, Skip } from '@ferry/core';

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

/**
 * Every secret setting value of the destination, for `redactText`: as configured, as it appears
 * JSON-escaped inside a body and percent-encoded inside a URL.
 */
export function secretValues(instance: DestinationInstance): string[] {
  const settings = instance.settings as Readonly<Record<string, unknown>> | null | undefined;
  const values = new Set<string>();
  for (const key of instance.plugin.secrets) {
    for (const value of stringLeaves(settings?.[key])) {
      values.add(value);
      values.add(JSON.stringify(value).slice(1, -1));
      values.add(encodeURIComponent(value));
    }
  }
  return [...values];
}

/** The non-empty strings in a setting value, however deeply nested (a secret may be an object of credentials). */
function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringLeaves);
  return [];
}
