import type { RequestHeaders } from '@ferry/core';

/** The source suites, in the order they run. */
export const SOURCE_CONTRACT_SUITES = ['settings', 'authentication', 'parsing', 'robustness', 'storage'] as const;
export type SourceContractSuite = (typeof SOURCE_CONTRACT_SUITES)[number];

/** A body the source must refuse, and the paths its issues must name. */
export interface InvalidBodyCase {
  /** For the test title: what is wrong with it (`event.type missing`). */
  readonly title: string;
  readonly body: unknown;
  /** Every path the issues must name (more may be named). */
  readonly paths: readonly string[];
}

export interface SourceContractOptions<S = unknown> {
  /**
   * The request headers a sender presents with the credential of `settings` (parsed): RevenueCat's
   * `(settings) => ({ authorization: settings.authorization })`. The kit presents them, leaves them out,
   * and presents them altered. Required when the plugin's `exampleSettings` authenticate.
   */
  readonly credentialHeaders?: (settings: S) => RequestHeaders;
  /** More bodies `parse` must accept (real samples, edge cases), each checked like `exampleWebhook`. */
  readonly validBodies?: readonly unknown[];
  /** Bodies `parse` must refuse, naming the given paths. */
  readonly invalidBodies?: readonly InvalidBodyCase[];
  /** How many generated inputs each property tries (default 300). */
  readonly numRuns?: number;
  /** The properties' seed (default: `PROPERTY_SEED` from the environment, else a fixed one), so a failure replays. */
  readonly seed?: number;
}

/** Options whose settings type is erased, as the suites take them. */
export type AnySourceContractOptions = SourceContractOptions<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
