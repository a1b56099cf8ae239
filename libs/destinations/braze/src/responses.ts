import {
  headerValue,
  outcomesByIndex,
  parseJsonSafely,
  parseRetryAfter,
  recordIndexOfPart,
  sameOutcomeForAll,
  standardFailureOutcomes,
  type DeliveryRequest,
  type HttpResult,
  type Outcome,
  type RecordOutcome,
} from '@ferry/core';

type Response = Extract<HttpResult, { kind: 'response' }>;
type Answer = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Braze's JSON answer (`{"message": …}`), or undefined for anything else (an HTML page, a cut-off body). */
function readAnswer(body: string): Answer | undefined {
  const value = parseJsonSafely(body);
  return isRecord(value) && typeof value['message'] === 'string' ? value : undefined;
}

/**
 * How long Braze asks to wait: the longest of `Retry-After`, `X-RateLimit-Retry-After` (seconds) and, on a 429,
 * `X-RateLimit-Reset` (the epoch second the request budget refills; Braze sends it on every answer, so only a
 * refusal makes it a wait). Undefined when none is readable.
 */
export function brazeRetryAfterMs({ status, headers }: Response, nowMs: number): number | undefined {
  const waits = [
    parseRetryAfter(headerValue(headers, 'retry-after'), nowMs),
    parseRetryAfter(headerValue(headers, 'x-ratelimit-retry-after'), nowMs),
  ];
  const reset = headerValue(headers, 'x-ratelimit-reset')?.trim();
  if (status === 429 && reset !== undefined && /^\d+(\.\d+)?$/.test(reset))
    waits.push(Math.max(0, Math.round(Number(reset) * 1000 - nowMs)));
  const known = waits.filter((wait): wait is number => wait !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

interface ObjectError {
  readonly index: number;
  readonly type: string;
}

/**
 * Braze's `errors`, split into those naming an object of this request (`{type, input_array, index}`, by its body
 * index) and the rest, as text (the docs also show bare strings).
 */
function readErrors(request: DeliveryRequest, errors: unknown): { named: Map<number, string>; other: string[] } {
  const named = new Map<number, string>();
  const other: string[] = [];
  for (const error of Array.isArray(errors) ? errors : []) {
    const found: ObjectError | undefined = isRecord(error)
      ? (() => {
          const index = recordIndexOfPart(request, String(error['input_array']), error['index']);
          return index === undefined ? undefined : { index, type: String(error['type'] ?? 'invalid').slice(0, 300) };
        })()
      : undefined;
    if (found) named.set(found.index, [named.get(found.index), found.type].filter(Boolean).join('; '));
    else other.push((typeof error === 'string' ? error : JSON.stringify(error)).slice(0, 300));
  }
  return { named, other };
}

/** Where a record sits in Braze's terms, for reasons: `events[2]`. */
function locate(request: DeliveryRequest, index: number): string {
  const records = request.records ?? [];
  const part = records[index]?.part ?? 'objects';
  return `${part}[${records.slice(0, index).filter((record) => record.part === part).length}]`;
}

/**
 * One outcome per delivery. A 2xx with Braze's answer took every object it does not name in `errors`; a named
 * event or purchase is rejected, a named attributes object only adds a note (and its state was not taken). A
 * 400 took nothing (no object was valid): every delivery is rejected, with its own errors when named. 401, 403
 * and 404 (wrong key, permission or instance) pause the destination; 429 and 5xx retry after what Braze asks;
 * a 2xx without Braze's answer retries (it may not have landed).
 */
export function parseResponse(request: DeliveryRequest, result: HttpResult): Outcome[] {
  if (result.kind !== 'response') return standardFailureOutcomes(request, result);
  const { status } = result;
  const answer = readAnswer(result.body);
  if (status >= 200 && status < 300) return accepted(request, result, answer);
  if (status === 400 && answer) return invalid(request, answer);
  if (status === 404)
    return sameOutcomeForAll(request, {
      type: 'auth_failed',
      status,
      reason: `HTTP 404: ${result.body.slice(0, 300)} (is the instance or restEndpoint right?)`,
    });
  if (status === 429 || status >= 500) {
    const reason = `HTTP ${status}: ${result.body.slice(0, 300)}`;
    return sameOutcomeForAll(request, { type: 'retry', status, reason, retryAfterMs: brazeRetryAfterMs(result, Date.now()) });
  }
  return standardFailureOutcomes(request, result);
}

function accepted(request: DeliveryRequest, { status, body }: Response, answer: Answer | undefined): Outcome[] {
  const message = answer?.['message'];
  // `queued`: Braze takes requests during maintenance and processes them later.
  if (message !== 'success' && message !== 'queued') {
    const what = answer ? `message ${JSON.stringify(String(message).slice(0, 200))}` : `without Braze's answer: ${body.slice(0, 200)}`;
    return sameOutcomeForAll(request, { type: 'retry', status, reason: `HTTP ${status} ${what}` });
  }
  const { named, other } = readErrors(request, answer?.['errors']);
  const outcomes = outcomesByIndex(request, (index): RecordOutcome => {
    const type = named.get(index);
    if (type === undefined) return { type: 'delivered', status };
    return { type: 'rejected', status, code: 'braze_invalid_object', reason: `Braze refused ${locate(request, index)}: ${type}` };
  });
  if (other.length === 0) return outcomes;
  // Errors naming no object of the request: everything was processed, so nothing is sent again; each delivery keeps them.
  const unattributed = `Braze reported errors naming no object: ${other.join('; ')}`.slice(0, 500);
  return outcomes.map((outcome) =>
    outcome.type === 'delivered' ? { ...outcome, note: [outcome.note, unattributed].filter(Boolean).join('; ') } : outcome,
  );
}

function invalid(request: DeliveryRequest, answer: Answer): Outcome[] {
  const status = 400;
  const message = String(answer['message']).slice(0, 300);
  const { named } = readErrors(request, answer['errors']);
  return outcomesByIndex(request, (index): RecordOutcome => {
    const type = named.get(index);
    if (type !== undefined)
      return {
        type: 'rejected',
        status,
        code: 'braze_invalid_object',
        reason: `HTTP 400: Braze refused ${locate(request, index)}: ${type}`,
      };
    return { type: 'rejected', status, code: 'http_400', reason: `HTTP 400: ${message}` };
  });
}
