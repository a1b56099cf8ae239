import {
  idBatches,
  isSet,
  parseJsonSafely,
  standardCheckVerdict,
  standardErasureAnswer,
  urlUnder,
  type CheckVerdict,
  type ConnectionCheck,
  type ErasureAnswer,
  type ErasureHooks,
  type ErasureSubject,
  type HttpRequest,
  type HttpResult,
} from '@ferry/core';
import { apiBase } from './requests';
import { hasSandboxCredentials, missingConfig, type CleverTapSettings } from './settings';

/** CleverTap's limit per `identity` array and per `guid` array of one delete request (reference.md §1). */
export const MAX_IDS_PER_DELETE = 100;

/** The profile the connection check reads: no real user has this identity, and reading changes nothing. */
export const CHECK_IDENTITY = 'ferry-connection-check';

interface Account {
  readonly accountId: string;
  readonly passcode: string;
}

/** The accounts Ferry sends to: production, and the sandbox account when it is configured. */
function accounts(settings: CleverTapSettings): Account[] {
  const all: Account[] = [{ accountId: settings.accountId ?? '', passcode: settings.passcode ?? '' }];
  if (hasSandboxCredentials(settings)) all.push({ accountId: settings.sandboxAccountId!, passcode: settings.sandboxPasscode! });
  return all;
}

function headers({ accountId, passcode }: Account): Record<string, string> {
  return { 'Content-Type': 'application/json; charset=utf-8', 'X-CleverTap-Account-Id': accountId, 'X-CleverTap-Passcode': passcode };
}

/**
 * Delete requests for every profile Ferry wrote the customer to: app user ids and `identity` values as `identity`,
 * `$clevertapId` values (sent as `objectId`) as `guid`, in every account Ferry sends to. CleverTap refuses both arrays
 * in one request, so each request carries one of them, at most 100 ids.
 */
function requests(subject: ErasureSubject, settings: CleverTapSettings): HttpRequest[] {
  const identities = idBatches([...subject.appUserIds, ...fieldValues(subject, 'identity')], MAX_IDS_PER_DELETE);
  const guids = idBatches(fieldValues(subject, 'objectId'), MAX_IDS_PER_DELETE);
  const url = urlUnder(apiBase(settings), '/1/delete/profiles.json');
  return accounts(settings).flatMap((account) => [
    ...identities.map((identity) => ({ method: 'POST' as const, url, headers: headers(account), body: JSON.stringify({ identity }) })),
    ...guids.map((guid) => ({ method: 'POST' as const, url, headers: headers(account), body: JSON.stringify({ guid }) })),
  ]);
}

function fieldValues(subject: ErasureSubject, field: string): string[] {
  return subject.identities.flatMap((identity) => (isSet(identity[field]) ? [identity[field]] : []));
}

/** CleverTap's envelope: `{"status": "success" | "fail", "error"?: …}`. */
function envelope(body: string): { status?: unknown; error?: unknown } | undefined {
  const parsed = parseJsonSafely(body);
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
}

/**
 * A 2xx is done unless CleverTap's JSON says `"status": "fail"` (then it failed, with CleverTap's words); a 2xx
 * without CleverTap's JSON came from something in between and is tried again, which a deletion allows.
 */
function readAnswer(_request: HttpRequest, result: HttpResult): ErasureAnswer {
  if (result.kind !== 'response' || result.status < 200 || result.status > 299) return standardErasureAnswer(result);
  const { status } = result;
  const answer = envelope(result.body);
  if (answer?.status === 'success') return { type: 'done', status };
  if (answer?.status === 'fail') {
    return { type: 'failed', status, reason: `CleverTap answered "fail": ${String(answer.error ?? 'no reason given').slice(0, 300)}` };
  }
  return { type: 'retry', status, reason: `HTTP ${status} without CleverTap's answer: ${result.body.slice(0, 200)}` };
}

export const erasure: ErasureHooks<CleverTapSettings> = {
  missingConfig,
  maxIdsPerRequest: MAX_IDS_PER_DELETE,
  requests,
  readAnswer,
};

/**
 * The check reads one profile of the production account (`GET /1/profile.json`), which changes nothing. CleverTap
 * answers bad credentials with 401 `Invalid Credentials`; any other answer in CleverTap's JSON envelope, a "not found"
 * included, means the account id and passcode were accepted.
 */
function checkAnswer(result: HttpResult): CheckVerdict {
  if (result.kind !== 'response') return standardCheckVerdict(result);
  const { status } = result;
  const answer = envelope(result.body);
  if (status === 401 || status === 403 || status === 429 || status >= 500) return standardCheckVerdict(result);
  if (answer === undefined) return { ok: null, reason: `HTTP ${status} without CleverTap's answer: ${result.body.slice(0, 200)}` };
  if (status >= 200 && status < 300) return { ok: true, reason: `HTTP ${status}: CleverTap accepted the account id and passcode` };
  return {
    ok: true,
    reason: `HTTP ${status}: CleverTap accepted the account id and passcode (${String(answer.error ?? '').slice(0, 200)})`,
  };
}

export const connectionCheck: ConnectionCheck<CleverTapSettings> = {
  missingConfig,
  request: (settings) => {
    const [production] = accounts(settings);
    return {
      method: 'GET',
      url: `${urlUnder(apiBase(settings), '/1/profile.json')}?identity=${encodeURIComponent(CHECK_IDENTITY)}`,
      headers: headers(production),
    };
  },
  readAnswer: checkAnswer,
};
