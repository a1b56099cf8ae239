import type { SubscriptionEvent } from './event';
import type { AnyDestinationPlugin, Outcome } from './plugin';

/**
 * The ordering guard's vocabulary (SPEC §12), shared by the engine and the stores. A destination keeps one
 * order of subscription states per profile: what the state is written to there.
 */

/**
 * Whether a destination with these settings sends the subscription state at all: the plugin declares
 * `capabilities.subscriptionState`, and its `sendsState` hook (if any) says these settings turn it on.
 */
export function sendsState(plugin: AnyDestinationPlugin, settings: unknown): boolean {
  return plugin.capabilities.subscriptionState === true && (plugin.sendsState?.(settings) ?? true);
}

/**
 * The profile an event's subscription state is written to at a destination: the plugin's identity for the
 * event (canonical JSON, so field order does not matter), within the account it goes to. Sandbox and
 * production are separate accounts when the plugin sends them with separate credentials; otherwise one.
 * Undefined when the identity is empty (no field, or only empty values): there is no profile to keep an order for.
 */
export function stateProfileOf(plugin: AnyDestinationPlugin, settings: unknown, event: SubscriptionEvent): string | undefined {
  const identity = Object.entries(plugin.identity(event, settings))
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (identity.length === 0) return undefined;
  const account = plugin.capabilities.sandbox === 'separate-credentials' ? event.environment : 'ALL';
  return JSON.stringify([account, identity]);
}

/** Whether the destination took the state a delivery carried (see `Outcome.stateAccepted`). */
export function stateAcceptedBy(outcome: Outcome): boolean {
  return outcome.stateAccepted ?? outcome.type === 'delivered';
}

/**
 * What the ordering guard decides for one delivery that could carry state: `state` (it carries it, and holds
 * the profile's claim until its outcome is stored), `plain` (older than the state the destination accepted:
 * it goes without state) or `hold` (another request for the profile may still change what the destination
 * holds: it waits, unsent, and is decided again shortly).
 */
export type StateVerdict = 'state' | 'plain' | 'hold';
