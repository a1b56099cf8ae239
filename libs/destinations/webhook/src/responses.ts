import {
  headerValue,
  parseRetryAfter,
  sameOutcomeForAll,
  standardFailureOutcomes,
  type DeliveryRequest,
  type HttpResult,
  type Outcome,
} from '@ferry/core';

/**
 * Answers by which the receiver asks to stop (SPEC §16): 410 Gone, as Standard Webhooks says (reference.md §7), and
 * 401/403, a receiver refusing the signature or the headers. They pause the destination; nothing dies.
 */
export const STOP_STATUSES: ReadonlySet<number> = new Set([401, 403, 410]);

/**
 * One outcome per delivery: 2xx delivered; 401, 403 and 410 pause the destination; everything else (3xx, any
 * other 4xx, 5xx, a timeout, a refused connection) is retried, honouring `Retry-After`, until the delivery
 * limits make it dead, and replayable. A receiver's 400 may be a bug it will fix, not a verdict on the event.
 */
export function parseResponse(request: DeliveryRequest, result: HttpResult): Outcome[] {
  if (result.kind !== 'response') return standardFailureOutcomes(request, result);
  const { status } = result;
  if (status >= 200 && status < 300) return sameOutcomeForAll(request, { type: 'delivered', status });
  const excerpt = result.body.slice(0, 300);
  if (STOP_STATUSES.has(status)) {
    return sameOutcomeForAll(request, { type: 'auth_failed', status, reason: `HTTP ${status}: the receiver asked to stop: ${excerpt}` });
  }
  const retryAfterMs = parseRetryAfter(headerValue(result.headers, 'retry-after'), Date.now());
  return sameOutcomeForAll(request, { type: 'retry', status, reason: `HTTP ${status}: ${excerpt}`, retryAfterMs });
}
