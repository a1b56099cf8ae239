import type { SubscriptionEvent } from './event';

export interface FieldIssue {
  /** Dotted path into the input (`event.type`, `destinations[0].settings.region`). */
  readonly path: string;
  readonly message: string;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/**
 * A webhook source, bound by the runner to `TOKENS.SourcePlugin` as destinations are: what the runner and
 * the engine need of one, without naming it.
 */
export interface SourcePlugin {
  /** Its id in the config and the `source` of its events: `revenuecat`. */
  readonly id: string;
  /** A received body (parsed JSON) to its normalised event, or which fields are wrong (never their values). */
  parse(body: unknown): ParseResult<SubscriptionEvent>;
  /**
   * A body this source accepted, as stored, back to its event: the trusted fast path each delivery takes, so
   * it may skip what `parse` already checked. Throws when the body cannot be an event.
   */
  decodeStored(body: string): SubscriptionEvent;
}

/** Formats a zod-style path (`['destinations', 0, 'settings', 'region']`) as `destinations[0].settings.region`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Issues from a zod error, each with its formatted path (prefixed when the value sits inside a larger input). */
export function issuesFromZod(
  issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[],
  prefix: readonly PropertyKey[] = [],
): FieldIssue[] {
  return issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]) || '(root)', message: issue.message }));
}
