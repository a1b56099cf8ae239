import { headerValue, type HttpRequest, type HttpResult } from './http';
import { parseRetryAfter } from './retry';

/**
 * What a destination plugin may ask of the destination's account besides deliveries (SPEC §15): deleting a
 * customer, and checking its credentials. Like deliveries, the plugin only builds requests and reads answers;
 * the runner sends them, keeps erasures as durable jobs and retries them.
 */

/** Everything Ferry sent a destination for one customer, gathered before the customer's local rows go. */
export interface ErasureSubject {
  /** The customer's app user ids: the one asked for, original app user ids, aliases, transfer parties. */
  readonly appUserIds: readonly string[];
  /** What the plugin's `identity` hook answered for the customer's events (its `Identity`s), each once. */
  readonly identities: readonly Readonly<Record<string, string>>[];
}

/** How one erase request went. `failed` ends the job dead, keeping the destination's answer. */
export type ErasureAnswer =
  | { readonly type: 'done'; readonly status?: number }
  | { readonly type: 'retry'; readonly reason: string; readonly status?: number; readonly retryAfterMs?: number }
  | { readonly type: 'failed'; readonly reason: string; readonly status?: number };

export interface ErasureHooks<S> {
  /** What these settings lack to erase at all (Amplitude's `secretKey`); empty or absent when nothing. */
  missingConfig?(settings: S): string[];
  /** Most ids any one array of an erase request's JSON body holds (the API's per-request limit); the contract kit holds requests to it. */
  readonly maxIdsPerRequest?: number;
  /**
   * The requests that delete every identity of `subject`, each within the API's limits per request, sent one
   * at a time in this order (CleverTap takes no parallel deletions). Pure; an empty list means nothing to erase.
   */
  requests(subject: ErasureSubject, settings: S): HttpRequest[];
  /** How the answer to one of those requests went. */
  readAnswer(request: HttpRequest, result: HttpResult, settings: S): ErasureAnswer;
}

/**
 * A connection check's verdict: `ok` true when the credentials were accepted, false when refused, null when the
 * answer cannot tell (network error, 5xx) or the plugin has no such request. `reason` names no secret.
 */
export interface CheckVerdict {
  readonly ok: boolean | null;
  readonly reason: string;
}

export interface ConnectionCheck<S> {
  /**
   * What these settings lack to check at all (credentials not set, Amplitude's `secretKey`); empty or absent when
   * nothing. When something is missing the runner sends nothing and answers `ok: null` naming it.
   */
  missingConfig?(settings: S): string[];
  /** A request that changes nothing at the destination and is answered differently for valid and invalid credentials. */
  request(settings: S): HttpRequest;
  readAnswer(result: HttpResult, settings: S): CheckVerdict;
}

/**
 * Ids for erase requests: each once, in first-seen order, empty ones left out, in groups of at most `size` (an
 * API's per-request limit).
 */
export function idBatches(ids: Iterable<string>, size: number): string[][] {
  const unique = [...new Set([...ids].filter((id) => id !== ''))];
  const batches: string[][] = [];
  for (let start = 0; start < unique.length; start += size) batches.push(unique.slice(start, start + size));
  return batches;
}

/** Every id of a subject, each once: app user ids and every identity field's value. */
export function subjectIds(subject: ErasureSubject): string[] {
  const ids = [...subject.appUserIds, ...subject.identities.flatMap((identity) => Object.values(identity))];
  return [...new Set(ids.filter((id) => id !== ''))];
}

/** What the runner answers for a plugin without a connection check. */
export const CHECK_NOT_SUPPORTED: CheckVerdict = { ok: null, reason: 'not supported' };

/**
 * The common reading of an erase answer, for what a plugin does not read itself: 2xx done; network errors,
 * timeouts, 429 and 5xx retry (honouring Retry-After); anything else fails with the status and a short excerpt.
 */
export function standardErasureAnswer(result: HttpResult, nowMs = Date.now()): ErasureAnswer {
  if (result.kind !== 'response') return { type: 'retry', reason: `${result.kind}: ${result.message}` };
  const { status } = result;
  if (status >= 200 && status < 300) return { type: 'done', status };
  const reason = `HTTP ${status}: ${result.body.slice(0, 300)}`;
  if (status === 429 || status >= 500) {
    return { type: 'retry', status, reason, retryAfterMs: parseRetryAfter(headerValue(result.headers, 'retry-after'), nowMs) };
  }
  if (status === 401 || status === 403) return { type: 'failed', status, reason: `credentials refused: ${reason}` };
  return { type: 'failed', status, reason };
}

/**
 * The common reading of a check answer: 2xx ok; 401 and 403 refused; network errors, timeouts, 429 and 5xx
 * cannot tell; any other status is refused with its excerpt (a plugin whose API answers valid credentials with
 * a 4xx reads it itself).
 */
export function standardCheckVerdict(result: HttpResult): CheckVerdict {
  if (result.kind !== 'response') return { ok: null, reason: `${result.kind}: ${result.message}` };
  const { status } = result;
  if (status >= 200 && status < 300) return { ok: true, reason: `HTTP ${status}: credentials accepted` };
  const excerpt = `HTTP ${status}: ${result.body.slice(0, 300)}`;
  if (status === 401 || status === 403) return { ok: false, reason: `credentials refused: ${excerpt}` };
  if (status === 429 || status >= 500) return { ok: null, reason: `the destination could not answer: ${excerpt}` };
  return { ok: false, reason: excerpt };
}
