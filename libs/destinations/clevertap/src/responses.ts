import { isDeepStrictEqual } from 'node:util';
import {
  isRecordIndex,
  outcomesByIndex,
  parseJsonSafely,
  sameOutcomeForAll,
  standardFailureOutcomes,
  type DeliveryRequest,
  type HttpResult,
  type Outcome,
  type RecordOutcome,
} from '@ferry/core';
import { z } from 'zod';

/** CleverTap's per-record "miscellaneous server error": the one unprocessed code worth another try. */
const MISC_SERVER_ERROR = 555;

/** The documented 200 answer; entries are read leniently so one odd entry cannot undo the rest. */
const UploadAnswer = z.object({
  status: z.enum(['success', 'partial', 'fail']),
  unprocessed: z.array(z.unknown()).optional(),
});

const UnprocessedEntry = z.object({
  code: z.number().optional().catch(undefined),
  error: z.string().optional().catch(undefined),
  record: z.unknown().optional(),
});
type UnprocessedEntry = z.infer<typeof UnprocessedEntry>;

/** CleverTap ends each error with "Skipped record number : N", N counting records from 1. */
const RECORD_NUMBER = /Skipped record number\s*:\s*(\d+)/i;

/** The record an unprocessed entry is about: by its record number, else by the echoed record. */
function recordIndex(
  entry: UnprocessedEntry,
  request: DeliveryRequest,
  records: () => readonly unknown[],
  taken: ReadonlyMap<number, unknown>,
): number | undefined {
  const numbered = Number(entry.error?.match(RECORD_NUMBER)?.[1]) - 1;
  if (isRecordIndex(request, numbered) && !taken.has(numbered)) return numbered;
  if (entry.record === undefined) return undefined;
  const index = records().findIndex((record, i) => !taken.has(i) && isDeepStrictEqual(record, entry.record));
  return index === -1 ? undefined : index;
}

/** CleverTap's own words for an entry; never the echoed record, which holds personal data. */
function entryReason(entry: UnprocessedEntry): string {
  return (entry.error ?? `CleverTap code ${entry.code ?? 'missing'}`).slice(0, 500);
}

function entryOutcome(entry: UnprocessedEntry, status: number): RecordOutcome {
  const reason = entryReason(entry);
  if (entry.code === MISC_SERVER_ERROR) return { type: 'retry', status, reason };
  return { type: 'rejected', status, code: `clevertap_${entry.code ?? 'unprocessed'}`, reason };
}

/** The records of a request this plugin built, for matching echoed records. */
function requestRecords(request: DeliveryRequest): readonly unknown[] {
  const body = parseJsonSafely(request.body) as { d?: unknown } | undefined;
  return Array.isArray(body?.d) ? body.d : [];
}

/**
 * One outcome per delivery. A 2xx carries CleverTap's verdict per record: records listed as unprocessed
 * are rejected with CleverTap's code and text (555 is retried); every other record was accepted and is
 * never sent again. Anything that is not a 2xx gets the standard reading (401/403 pause, 429/5xx and
 * network failures retry, other 4xx reject).
 */
export function parseResponse(request: DeliveryRequest, result: HttpResult): Outcome[] {
  if (result.kind !== 'response' || result.status < 200 || result.status > 299) return standardFailureOutcomes(request, result);
  const { status } = result;
  const answer = UploadAnswer.safeParse(parseJsonSafely(result.body));
  if (!answer.success) {
    // A 2xx without CleverTap's JSON comes from something in between (a proxy, a captive portal) or a cut-off
    // answer: the records may not have landed. At-least-once prefers a rare duplicate to a silent loss.
    return sameOutcomeForAll(request, {
      type: 'retry',
      status,
      reason: `HTTP ${status} without CleverTap's upload answer: ${result.body.slice(0, 200)}`,
    });
  }

  let records: readonly unknown[] | undefined; // parsed only when an entry lacks its record number
  const lazyRecords = () => (records ??= requestRecords(request));
  const outcomes = new Map<number, RecordOutcome>();
  const unattributed: string[] = [];
  for (const raw of answer.data.unprocessed ?? []) {
    const entry = UnprocessedEntry.safeParse(raw);
    if (!entry.success) {
      unattributed.push('an unreadable entry');
      continue;
    }
    const index = recordIndex(entry.data, request, lazyRecords, outcomes);
    if (index === undefined) unattributed.push(entryReason(entry.data));
    else outcomes.set(index, entryOutcome(entry.data, status));
  }

  // "success" and "partial" accepted every record they do not list. "fail" accepted none: the records it does
  // not name failed for a reason CleverTap did not attribute, and since nothing landed a retry cannot duplicate;
  // a lasting cause still ends dead once the retry policy gives up, with CleverTap's words as the last error.
  // One outcome for all those records, copied per delivery by outcomesByIndex.
  const unnamed: RecordOutcome =
    answer.data.status !== 'fail'
      ? { type: 'delivered', status }
      : {
          type: 'retry',
          status,
          reason: `CleverTap answered "fail" without naming this record: ${unattributed.length > 0 ? unattributed.join('; ').slice(0, 500) : 'no reason given'}`,
        };
  return outcomesByIndex(request, (index) => outcomes.get(index) ?? unnamed);
}
