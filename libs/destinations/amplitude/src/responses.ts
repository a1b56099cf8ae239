import {
  headerValue,
  isRecordIndex,
  outcomesByIndex,
  parseJsonSafely,
  parseRetryAfter,
  sameOutcomeForAll,
  standardFailureOutcomes,
  type DeliveryRequest,
  type HttpResult,
  type Outcome,
} from '@ferry/core';

/** How long Amplitude keeps a throttled user or device out on the HTTP V2 API (reference/amplitude.md §1.3). */
export const THROTTLE_DELAY_MS = 30_000;
/** A user or device over its daily quota waits an hour per try: the quota counts a rolling 24 hours. */
export const DAILY_QUOTA_DELAY_MS = 60 * 60_000;

type Answer = Readonly<Record<string, unknown>>;
type Response = Extract<HttpResult, { kind: 'response' }>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Amplitude's JSON answer, or undefined for anything else (an HTML error page, a cut-off body). */
function readAnswer(body: string): Answer | undefined {
  const value = parseJsonSafely(body);
  return isRecord(value) ? value : undefined;
}

/** The indexes of an answer's list that name an event of this request; anything else is ignored. */
function indexesIn(value: unknown, request: DeliveryRequest): number[] {
  return Array.isArray(value) ? value.filter((index) => isRecordIndex(request, index)) : [];
}

/** `{ field: [indexes] }` maps such as `events_with_invalid_fields`, as [field, indexes] pairs. */
function fieldIndexes(value: unknown, request: DeliveryRequest): [string, number[]][] {
  return isRecord(value) ? Object.entries(value).map(([field, indexes]) => [field, indexesIn(indexes, request)]) : [];
}

/** The ids of `{ id: rate }` maps such as `throttled_users`. */
function idsIn(value: unknown): ReadonlySet<string> {
  return new Set(isRecord(value) ? Object.keys(value) : []);
}

function errorOf(answer: Answer): string {
  return typeof answer['error'] === 'string' && answer['error'] !== '' ? answer['error'].slice(0, 300) : 'no error given';
}

/**
 * One outcome per delivery. Amplitude takes a request whole or not at all, so whenever it refuses some
 * events the others were not ingested either and go again at once; `insert_id` makes every resend
 * harmless. 2xx with Amplitude's answer → delivered; 400 → the events it names are rejected (an invalid API
 * key pauses the destination); 413 → see `tooLarge`; 429 → only the throttled users and devices wait;
 * 408, 5xx, timeouts and network errors retry; 401/403 pause; any other status is rejected.
 */
export function parseResponse(request: DeliveryRequest, result: HttpResult): Outcome[] {
  if (result.kind !== 'response') return standardFailureOutcomes(request, result);
  const { status } = result;
  const answer = readAnswer(result.body);
  if (status >= 200 && status < 300) return accepted(request, result, answer);
  if (status === 400 && answer) return invalid(request, answer);
  if (status === 408) return sameOutcomeForAll(request, { type: 'retry', status, reason: `HTTP 408: ${result.body.slice(0, 300)}` });
  if (status === 413) return tooLarge(request);
  if (status === 429 && answer) return throttled(request, result, answer);
  return standardFailureOutcomes(request, result);
}

function accepted(request: DeliveryRequest, { status, body }: Response, answer: Answer | undefined): Outcome[] {
  const code = answer?.['code'];
  if (typeof code === 'number' && code >= 200 && code < 300) return sameOutcomeForAll(request, { type: 'delivered', status });
  // Not Amplitude's answer (a proxy, a captive portal, a cut-off body): the events may not have landed.
  return sameOutcomeForAll(request, { type: 'retry', status, reason: `HTTP ${status} without Amplitude's answer: ${body.slice(0, 200)}` });
}

interface Problem {
  readonly code: string;
  readonly text: string;
}

function invalid(request: DeliveryRequest, answer: Answer): Outcome[] {
  const status = 400;
  const error = errorOf(answer);
  if (error.startsWith('Invalid API key')) return sameOutcomeForAll(request, { type: 'auth_failed', status, reason: `HTTP 400: ${error}` });
  if (answer['missing_field']) {
    const reason = `HTTP 400: ${error} (${String(answer['missing_field']).slice(0, 100)})`;
    return sameOutcomeForAll(request, { type: 'rejected', status, code: 'amplitude_missing_field', reason });
  }

  const problems = new Map<number, Problem[]>();
  const note = (indexes: number[], problem: Problem) => {
    for (const index of indexes) problems.set(index, [...(problems.get(index) ?? []), problem]);
  };
  const perField = (key: string, code: string, text: (field: string) => string) => {
    for (const [field, indexes] of fieldIndexes(answer[key], request)) note(indexes, { code, text: text(field.slice(0, 100)) });
  };
  perField('events_with_invalid_fields', 'amplitude_invalid_event', (field) => `invalid ${field}`);
  perField('events_with_missing_fields', 'amplitude_invalid_event', (field) => `missing ${field}`);
  perField('events_with_invalid_id_lengths', 'amplitude_invalid_event', (field) => `${field} too short`);
  note(indexesIn(answer['silenced_events'], request), { code: 'amplitude_silenced', text: 'its device is silenced' });
  const delayed = new Set(indexesIn(answer['throttled_events'], request));
  if (problems.size === 0 && delayed.size === 0) {
    return sameOutcomeForAll(request, { type: 'rejected', status, code: 'amplitude_400', reason: `HTTP 400: ${error}` });
  }

  return outcomesByIndex(request, (index) => {
    const found = problems.get(index);
    if (found) {
      const reason = `HTTP 400: ${error}: ${found.map((problem) => problem.text).join(', ')}`;
      return { type: 'rejected', status, code: found[0].code, reason };
    }
    if (delayed.has(index)) {
      return { type: 'retry', status, retryAfterMs: THROTTLE_DELAY_MS, reason: `HTTP 400: ${error}: its device is throttled` };
    }
    return {
      type: 'retry',
      status,
      retryAfterMs: 0,
      reason: `HTTP 400: not ingested, Amplitude refused other events of the request (${error})`,
    };
  });
}

/**
 * A request the plugin builds stays within Amplitude's limits, so a 413 means something in between allows
 * less. A lone event can never fit and is rejected. Several events retry without a delay of their own: each
 * gets its own jittered backoff, so they come due at different moments and go out again in smaller batches.
 */
function tooLarge(request: DeliveryRequest): Outcome[] {
  const status = 413;
  const size = `${Buffer.byteLength(request.body)} bytes`;
  if (request.deliveryIds.length === 1) {
    const reason = `HTTP 413: the event alone (${size} of request) is more than Amplitude takes in one request`;
    return sameOutcomeForAll(request, { type: 'rejected', status, code: 'amplitude_payload_too_large', reason });
  }
  const reason = `HTTP 413: ${request.deliveryIds.length} events (${size}) are more than Amplitude takes in one request; retried in smaller batches`;
  return sameOutcomeForAll(request, { type: 'retry', status, reason });
}

/** The user_id and device_id of each event of a request this plugin built, by position. */
function sentIds(request: DeliveryRequest): { userId?: unknown; deviceId?: unknown }[] {
  const body = parseJsonSafely(request.body);
  const events = isRecord(body) && Array.isArray(body['events']) ? body['events'] : [];
  return request.deliveryIds.map((_, index) => {
    const event: unknown = events[index];
    return isRecord(event) ? { userId: event['user_id'], deviceId: event['device_id'] } : {};
  });
}

/**
 * Only the throttled users and devices wait: 30 s (or Retry-After), an hour for ids over their daily quota.
 * The other events of the request were not ingested and go again at once. An answer naming none of this
 * request's events gets the standard reading (everything retries, honouring Retry-After).
 */
function throttled(request: DeliveryRequest, result: Response, answer: Answer): Outcome[] {
  const status = 429;
  const throttledEvents = new Set(indexesIn(answer['throttled_events'], request));
  const [users, devices, quotaUsers, quotaDevices] = [
    'throttled_users',
    'throttled_devices',
    'exceeded_daily_quota_users',
    'exceeded_daily_quota_devices',
  ].map((key) => idsIn(answer[key]));
  const named = (ids: ReadonlySet<string>, id: unknown) => typeof id === 'string' && ids.has(id);
  const verdicts = sentIds(request).map(({ userId, deviceId }, index) => {
    if (named(quotaUsers, userId) || named(quotaDevices, deviceId)) return 'quota';
    if (throttledEvents.has(index) || named(users, userId) || named(devices, deviceId)) return 'throttled';
    return 'free';
  });
  if (verdicts.every((verdict) => verdict === 'free')) return standardFailureOutcomes(request, result);

  const limit = typeof answer['eps_threshold'] === 'number' ? ` (limit ${answer['eps_threshold']} events/s)` : '';
  const retryAfterMs = parseRetryAfter(headerValue(result.headers, 'retry-after'), Date.now()) ?? THROTTLE_DELAY_MS;
  return outcomesByIndex(request, (index) => {
    switch (verdicts[index]) {
      case 'quota':
        return {
          type: 'retry',
          status,
          retryAfterMs: DAILY_QUOTA_DELAY_MS,
          reason: "HTTP 429: its user or device is over Amplitude's daily quota",
        };
      case 'throttled':
        return { type: 'retry', status, retryAfterMs, reason: `HTTP 429: its user or device is throttled${limit}` };
      default:
        return {
          type: 'retry',
          status,
          retryAfterMs: 0,
          reason: 'HTTP 429: not ingested, Amplitude throttled other users of the request',
        };
    }
  });
}
