import type { z } from 'zod';
import type { SubscriptionEvent } from './event';

export interface FieldIssue {
  /** Dotted path into the input (`event.type`, `destinations[0].settings.region`). */
  readonly path: string;
  readonly message: string;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** What a source makes of a request's credentials: accepted, or why not (never quoting what was presented). */
export type Authentication = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** A request's headers as Node gives them: lower-case names. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * A webhook source plugin (SPEC §13), bound by the runner to `TOKENS.SourcePlugin` as destinations are. The
 * config names instances of it (`sources: [{ id, plugin, settings }]`); the runner serves each at
 * `POST /webhooks/<id>`, checks the request with `authenticator`, stores the body as received and gives the
 * engine the events `parse` and `decodeStored` make. Nothing outside the plugin knows its wire format.
 */
export interface SourcePlugin<S = unknown> {
  /** Its id in the config (`"plugin": "revenuecat"`), and the default instance's id. */
  readonly id: string;
  readonly displayName: string;
  /** Validates `sources[].settings`; secrets are marked in it with `secret()`, as for destinations. */
  readonly settings: z.ZodType<S>;
  /** Settings that pass validation, as the docs and the generated example show them. */
  readonly exampleSettings: S;
  /** A webhook body `parse` accepts, as the source sends it: for the docs, preview and the contract kit. */
  readonly exampleWebhook: unknown;
  /** Whether these settings check a credential at all. A runner listening beyond loopback refuses one that does not. */
  authenticates(settings: S): boolean;
  /**
   * The check of one instance's requests, built once (so an expected credential is hashed once): constant
   * time, before the body is read. Without a credential configured every request passes.
   */
  authenticator(settings: S): (headers: RequestHeaders) => Authentication;
  /**
   * A received body (parsed JSON) to its normalised event, or which fields are wrong (never their values).
   * The event's `source` is the plugin's id; the runner replaces it with the instance's.
   */
  parse(body: unknown): ParseResult<SubscriptionEvent>;
  /**
   * A body this source accepted, as stored, back to its event: the trusted fast path each delivery takes, so
   * it may skip what `parse` already checked. Throws when the body cannot be an event.
   */
  decodeStored(body: string): SubscriptionEvent;
}

/** A source plugin whose settings type is erased, as the runner holds them. */
export type AnySourcePlugin = SourcePlugin<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One configured source: where its webhooks arrive (`/webhooks/<id>`) and the `source` of its events. */
export interface SourceInstance {
  readonly id: string;
  readonly plugin: AnySourcePlugin;
  readonly settings: unknown;
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
