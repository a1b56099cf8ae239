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

/** Where an event stands in a profile's order: its timestamp, then the order the store received it. */
export interface StateOrder {
  readonly timestampMs: number;
  readonly receivedSeq: number;
}

/** Whether `a` comes before `b` in a profile's order. */
export function olderState(a: StateOrder, b: StateOrder): boolean {
  return a.timestampMs < b.timestampMs || (a.timestampMs === b.timestampMs && a.receivedSeq < b.receivedSeq);
}

/**
 * The ordering guard's decision for one profile's candidates (see `StateMarks.claimSubscriptionState`), once a
 * store has read, and locked, the profile's mark: the state the destination accepted, and whether another
 * delivery's claim is still active. One older than the accepted state goes `plain`; while another claim is
 * active the rest `hold`; otherwise the newest gets `state` (its claim, to record) and the others `hold`.
 */
export function judgeStateCandidates<Candidate extends StateOrder & { readonly deliveryId: string }>(
  candidates: readonly Candidate[],
  accepted: StateOrder | undefined,
  claimedElsewhere: boolean,
): { readonly verdicts: ReadonlyMap<string, StateVerdict>; readonly claim?: Candidate } {
  const verdicts = new Map<string, StateVerdict>();
  const eligible = candidates.filter((candidate) => accepted === undefined || !olderState(candidate, accepted));
  for (const candidate of candidates) if (!eligible.includes(candidate)) verdicts.set(candidate.deliveryId, 'plain');
  const newest = claimedElsewhere || eligible.length === 0 ? undefined : eligible.reduce((a, b) => (olderState(a, b) ? b : a));
  for (const candidate of eligible) verdicts.set(candidate.deliveryId, candidate === newest ? 'state' : 'hold');
  return { verdicts, claim: newest };
}
