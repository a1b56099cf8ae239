import type { Capabilities, DeliveryRequest, DestinationPlugin, HttpResult } from '@ferry/core';

/** The standard suites, in the order they run. */
export const CONTRACT_SUITES = [
  'settings',
  'secrets',
  'capabilities',
  'requests',
  'batching',
  'responses',
  'partial-responses',
  'subscription-state',
  'erasure',
  'connection-check',
] as const;
export type ContractSuite = (typeof CONTRACT_SUITES)[number];

/** A config the settings schema must refuse. */
export interface InvalidSettingsCase {
  /** Laid over the kit's `settings`, so a case names only what it breaks (`{ region: 'xx1' }`). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Every path the schema must report for it, and no other (`region`, `eventNames.renewal`). */
  readonly paths: readonly string[];
}

/** An answer that refuses some deliveries of a request and says nothing against the others. */
export interface PartialResponse {
  readonly result: HttpResult;
  /** The refused delivery ids: a non-empty proper subset of the request's. */
  readonly refused: readonly string[];
  /**
   * What became of the others: 'delivered' (the default) when the destination took them, 'retry' when it
   * takes a request whole or not at all, so they were not ingested and must go again.
   */
  readonly others?: 'delivered' | 'retry';
  /**
   * Deliveries of which the answer refused only a record that does not decide them (a profile or attributes
   * update beside the event, see `BodyRecord`): they were taken, so they count as delivered, with a note saying
   * what was not. Not in `refused`; give it only for a request whose deliveries have such records.
   */
  readonly noted?: readonly string[];
}

/** The destination's own success answers; the kit makes the failure answers itself. */
export interface ContractResponses {
  /** The answer when the destination took every delivery of `request`. */
  readonly accepted: (request: DeliveryRequest) => HttpResult;
  /** An answer refusing some of the deliveries of `request` (it carries at least two). */
  readonly partial?: (request: DeliveryRequest) => PartialResponse;
}

/** How the kit turns a plugin's subscription state on and reads it back (SPEC §12). */
export interface ContractSubscriptionState {
  /** Laid over `settings` to turn state on (CleverTap: `{ profileSync: true }`); omit when the plugin always sends it. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /**
   * The status each delivery of `request` carries, read from its body: `{ [deliveryId]: 'active' }`, with
   * no entry for a delivery that carries none. The kit checks every status it names is in the body.
   */
  readonly carried: (request: DeliveryRequest) => Readonly<Record<string, string>>;
}

/** How the kit builds a varied customer to erase (SPEC §15). */
export interface ContractErasure {
  /**
   * Customer attributes that make the plugin's identity hook answer each of its shapes, e.g. `[{}, { $clevertapId: 'x' }]`.
   * The kit makes every value unique per customer it invents, and erases app user ids and those identities together.
   */
  readonly identityAttributes: readonly Readonly<Record<string, string>>[];
  /** Identity fields the destination's API cannot erase, each with the written reason (Amplitude's `device_id`). */
  readonly notErased?: Readonly<Record<string, string>>;
}

/** The destination's own answers to the connection check. */
export interface ContractConnectionCheck {
  /** Its answer when the credentials are valid: read as `ok: true`. */
  readonly accepted: HttpResult;
  /** Its answer when they are not: read as `ok: false`. */
  readonly refused: HttpResult;
}

export interface DestinationContractOptions {
  /**
   * Config as an operator writes it, with every credential set (no sandbox credentials). Secret values
   * must be distinctive, at least 8 characters, so the kit can look for them in everything it sees.
   */
  readonly settings: Readonly<Record<string, unknown>>;
  /** `settings` plus sandbox credentials; required when `capabilities.sandbox` is 'separate-credentials'. */
  readonly sandboxSettings?: Readonly<Record<string, unknown>>;
  /** Bad configs and the paths the schema must name; at least one. */
  readonly invalidSettings: readonly InvalidSettingsCase[];
  /** Required unless the `responses` suite is skipped. */
  readonly responses?: ContractResponses;
  /** Required when `capabilities.subscriptionState` is declared, unless the `subscription-state` suite is skipped. */
  readonly subscriptionState?: ContractSubscriptionState;
  /** Required when the plugin declares `erasure`, unless the `erasure` suite is skipped. */
  readonly erasure?: ContractErasure;
  /** Required when the plugin declares `connectionCheck`, unless the `connection-check` suite is skipped. */
  readonly connectionCheck?: ContractConnectionCheck;
  /** Suites not run, each with the written reason the report prints. */
  readonly skip?: Readonly<Partial<Record<ContractSuite, string>>>;
}

/**
 * Which suites run and why the others do not; refuses a skip without a reason or of an unknown suite. A plugin
 * that declares no subscription state, erasure or connection check has nothing for that suite to check, and the
 * plan says so.
 */
export function planSuites(
  skip: DestinationContractOptions['skip'] = {},
  capabilities?: Pick<Capabilities, 'subscriptionState'>,
  hooks?: Pick<DestinationPlugin, 'erasure' | 'connectionCheck'>,
): ReadonlyMap<ContractSuite, string | undefined> {
  for (const [suite, reason] of Object.entries(skip)) {
    if (!(CONTRACT_SUITES as readonly string[]).includes(suite)) {
      throw new Error(`skip.${suite}: no such suite (the suites are ${CONTRACT_SUITES.join(', ')})`);
    }
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`skip.${suite}: a suite is skipped only with a written reason`);
    }
  }
  const plan = new Map(CONTRACT_SUITES.map((suite) => [suite, skip[suite]?.trim()]));
  if (capabilities && capabilities.subscriptionState !== true && plan.get('subscription-state') === undefined) {
    plan.set('subscription-state', 'the plugin does not declare capabilities.subscriptionState');
  }
  if (hooks && hooks.erasure === undefined && plan.get('erasure') === undefined)
    plan.set('erasure', 'the plugin declares no erasure hooks');
  if (hooks && hooks.connectionCheck === undefined && plan.get('connection-check') === undefined) {
    plan.set('connection-check', 'the plugin declares no connection check');
  }
  return plan;
}
