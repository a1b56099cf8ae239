import { z } from 'zod';
import type { SubscriptionEvent } from './event';
import { MAX_ID_LENGTH, isEpochMs } from './store/records';

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

/**
 * Whether the stores keep `text` as it is in a text column. JSON can escape a lone UTF-16 surrogate or
 * U+0000, but UTF-8 storage cannot hold them: a lone surrogate comes back as U+FFFD (the event would be
 * stored under another id, answered as a duplicate and never delivered) and Postgres refuses U+0000 (503 for ever).
 */
export function isStorableText(text: string): boolean {
  return !/[\u0000\p{Surrogate}]/u.test(text);
}

/** A webhook's text that the stores keep in their own columns (see `isStorableText`). */
export const StorableText = z.string().refine(isStorableText, { error: 'must be valid Unicode without U+0000 characters' });

/** A webhook's text for an indexed column (its id, type or user id): storable, at most `MAX_ID_LENGTH` characters. */
export const StorableId = StorableText.max(MAX_ID_LENGTH);

/** An event time, which the stores keep as BIGINT milliseconds: neither fractions nor values beyond a date. */
export const EpochMs = z.number().refine(isEpochMs, { error: 'must be whole milliseconds within the range of a date' });

/** Deeper than any webhook a source takes: a deeper body could not be written out again (JSON.stringify recurses). */
export const MAX_NESTING = 32;

/**
 * The issue of a body that nests objects or arrays deeper than `MAX_NESTING`, at the path of the too-deep
 * part's field (two levels down at most), or undefined. A source's `parse` checks it first: JSON.parse takes
 * a 1 MB body nested 100,000 levels deep, but neither a schema nor JSON.stringify gets through it.
 */
export function nestingIssue(value: unknown): FieldIssue | undefined {
  // Iterative: the value may be nested deeper than the call stack allows. A path is built only for the answer.
  const stack: { node: unknown; depth: number; top: readonly (string | number)[] }[] = [{ node: value, depth: 0, top: [] }];
  while (stack.length > 0) {
    const { node, depth, top } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= MAX_NESTING) return { path: formatPath(top) || '(root)', message: `nested deeper than ${MAX_NESTING} levels` };
    if (Array.isArray(node)) {
      node.forEach((child, i) => stack.push({ node: child, depth: depth + 1, top: depth < 2 ? [...top, i] : top }));
    } else {
      for (const key in node) {
        stack.push({ node: (node as Record<string, unknown>)[key], depth: depth + 1, top: depth < 2 ? [...top, key] : top });
      }
    }
  }
  return undefined;
}
