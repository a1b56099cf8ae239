import { headerValue, type HttpResult } from './http';
import type { BodyRecord, DeliveryRequest, Outcome } from './plugin';
import { parseRetryAfter } from './retry';

/** An outcome before it is tied to a delivery: what an answer says of one record of a request. */
export type RecordOutcome = DistributiveOmit<Outcome, 'deliveryId'>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The body's records in order: `request.records`, or one deciding record per delivery. */
export function bodyRecords(request: DeliveryRequest): readonly BodyRecord[] {
  return request.records ?? request.deliveryIds.map((deliveryId) => ({ deliveryId, part: 'record', decides: true }));
}

/**
 * One outcome per delivery, from the outcome of the record at each index of the request's body (see
 * `bodyRecords`): a delivery's deciding record gives its outcome; a failed record beside it only adds a note
 * to a delivered outcome, since resending the deciding record would duplicate it. A delivery whose state a
 * record of its own carries gets `stateAccepted` from that record's outcome, whatever the deciding one's.
 */
export function outcomesByIndex(request: DeliveryRequest, outcomeAt: (index: number) => RecordOutcome): Outcome[] {
  if (!request.records) return request.deliveryIds.map((deliveryId, index) => ({ ...outcomeAt(index), deliveryId }) as Outcome);
  const deciding = new Map<string, RecordOutcome>();
  const notes = new Map<string, string[]>();
  const stateTaken = new Map<string, boolean>();
  request.records.forEach((record, index) => {
    const outcome = outcomeAt(index);
    if (record.carriesState) stateTaken.set(record.deliveryId, outcome.type === 'delivered');
    if (record.decides) deciding.set(record.deliveryId, outcome);
    else if (outcome.type !== 'delivered') {
      const note = `${record.part} record not taken: ${outcome.type === 'rejected' ? `${outcome.code}: ` : ''}${outcome.reason}`;
      notes.set(record.deliveryId, [...(notes.get(record.deliveryId) ?? []), note]);
    }
  });
  return request.deliveryIds.map((deliveryId): Outcome => {
    // A plugin that named no deciding record for a delivery is a bug; retrying keeps the delivery alive and visible.
    const outcome = deciding.get(deliveryId) ?? { type: 'retry', reason: 'plugin error: no record decides this delivery' };
    const note = notes.get(deliveryId)?.join('; ');
    const stateAccepted = stateTaken.get(deliveryId);
    return {
      ...outcome,
      ...(outcome.type === 'delivered' && note !== undefined && { note }),
      ...(stateAccepted !== undefined && { stateAccepted }),
      deliveryId,
    } as Outcome;
  });
}

/** The same outcome for every delivery a request carried. */
export function sameOutcomeForAll(request: DeliveryRequest, outcome: RecordOutcome): Outcome[] {
  return outcomesByIndex(request, () => outcome);
}

/** Whether a value read from an untrusted answer is the index of one of the request's records. */
export function isRecordIndex(request: DeliveryRequest, index: unknown): index is number {
  return Number.isInteger(index) && (index as number) >= 0 && (index as number) < bodyRecords(request).length;
}

/**
 * The common reading of a failed exchange, for plugins to use for anything they do not handle
 * specially: network errors, timeouts, 429 and 5xx retry (honouring Retry-After); 401/403 mean bad
 * credentials; any other status is rejected with a short excerpt of the body.
 */
export function standardFailureOutcomes(request: DeliveryRequest, result: HttpResult, nowMs = Date.now()): Outcome[] {
  if (result.kind !== 'response') {
    return sameOutcomeForAll(request, { type: 'retry', reason: `${result.kind}: ${result.message}` });
  }
  const { status } = result;
  const excerpt = result.body.slice(0, 300);
  if (status === 401 || status === 403) {
    return sameOutcomeForAll(request, { type: 'auth_failed', status, reason: `HTTP ${status}: ${excerpt}` });
  }
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headerValue(result.headers, 'retry-after'), nowMs);
    return sameOutcomeForAll(request, { type: 'retry', status, reason: `HTTP ${status}: ${excerpt}`, retryAfterMs });
  }
  if (status >= 200 && status < 300) {
    return sameOutcomeForAll(request, { type: 'delivered', status });
  }
  return sameOutcomeForAll(request, { type: 'rejected', status, code: `http_${status}`, reason: `HTTP ${status}: ${excerpt}` });
}

/**
 * The body index of the `position`-th record (from 0) whose `part` is `part`, for answers that name a record by
 * its array and its place in it (Braze's `{"input_array": "events", "index": 2}`); undefined when there is none.
 */
export function recordIndexOfPart(request: DeliveryRequest, part: string, position: unknown): number | undefined {
  if (!Number.isInteger(position) || (position as number) < 0) return undefined;
  let seen = 0;
  const records = bodyRecords(request);
  for (let index = 0; index < records.length; index++) {
    if (records[index].part !== part) continue;
    if (seen === position) return index;
    seen++;
  }
  return undefined;
}
