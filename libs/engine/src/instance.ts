import { secretSettingValues, type AnyDestinationPlugin, type SubscriptionEvent, type Skip } from '@ferry/core';
import { routeSkip, type Route } from './route';

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
  /** Which sources and events it takes (config `destinations[].sources` and `.filter`); absent: every event. */
  readonly route?: Route;
}

/** The engine's cap on concurrent requests per concurrencyKey: the operator's choice, never above the plugin's limit. */
export function concurrencyOf(instance: DestinationInstance): number {
  return Math.max(1, Math.min(instance.concurrency, instance.plugin.capabilities.maxConcurrency));
}

/** What the destination lacks to send at all; empty when its config is complete. */
export function missingConfigOf(instance: DestinationInstance): string[] {
  return instance.plugin.missingConfig?.(instance.settings) ?? [];
}

/** What the destination lacks to erase: what it lacks to send, and what only its erase requests need, each once. */
export function erasureMissingConfigOf(instance: DestinationInstance): string[] {
  return [...new Set([...missingConfigOf(instance), ...(instance.plugin.erasure?.missingConfig?.(instance.settings) ?? [])])];
}

/**
 * Whether `event` is not sent to this destination, and why: its route first (the operator's choice of what
 * it takes), then the plugin's verdict. Ingest planning, the dispatcher's check before sending and preview
 * all ask here.
 */
export function skipOf(instance: DestinationInstance, event: SubscriptionEvent): Skip | undefined {
  return routeSkip(instance.route, instance.id, event) ?? instance.plugin.filter(event, instance.settings);
}

/** Every form of the destination's secret setting values, for redaction. */
export function secretValues(instance: DestinationInstance): string[] {
  return secretSettingValues(instance.settings, instance.plugin.secrets);
}
