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
import { missingAccountConfig, type AmplitudeRegion, type AmplitudeSettings } from './settings';

/** The user privacy API takes at most 100 ids per request (reference.md §1). */
export const MAX_IDS_PER_DELETION = 100;

/** Where the user privacy API lives: not on the ingestion hosts (reference.md §1). */
const PRIVACY_HOSTS: Readonly<Record<AmplitudeRegion, string>> = {
  us: 'https://amplitude.com',
  eu: 'https://analytics.eu.amplitude.com',
};

// A fixed, long-past day: listing its deletion jobs reads little, changes nothing, and keeps the check pure.
const CHECK_DAY = '2020-01-01';

function deletionsUrl(settings: AmplitudeSettings): string {
  return urlUnder(settings.endpoint ?? PRIVACY_HOSTS[settings.region], '/api/2/deletions/users');
}

/** Basic auth with the production project's API key and secret key, as the user privacy API asks. */
function authorization(settings: AmplitudeSettings): string {
  return `Basic ${Buffer.from(`${settings.apiKey ?? ''}:${settings.secretKey ?? ''}`).toString('base64')}`;
}

/**
 * Deletion requests for the customer's user ids in the production project: app user ids and `$amplitudeUserId`
 * values, at most 100 a request. The API takes no device ids, so a `$amplitudeDeviceId` cannot be erased this way.
 */
function requests(subject: ErasureSubject, settings: AmplitudeSettings): HttpRequest[] {
  const userIds = [...subject.appUserIds, ...subject.identities.flatMap((identity) => (isSet(identity.user_id) ? [identity.user_id] : []))];
  const url = deletionsUrl(settings);
  const headers = { 'Content-Type': 'application/json', Authorization: authorization(settings) };
  return idBatches(userIds, MAX_IDS_PER_DELETION).map((batch) => ({
    method: 'POST',
    url,
    headers,
    // ignore_invalid_id: a user Amplitude never saw must not hold back the others of the request.
    body: JSON.stringify({ user_ids: batch, requester: 'Ferry', ignore_invalid_id: true }),
  }));
}

/** Amplitude's own words in an error answer (`{"error": …}`), never the rest of the body, which may echo user ids. */
function errorText(body: string): string | undefined {
  const parsed = parseJsonSafely(body) as { error?: unknown } | undefined;
  return typeof parsed?.error === 'string' ? parsed.error.slice(0, 300) : undefined;
}

function readAnswer(_request: HttpRequest, result: HttpResult): ErasureAnswer {
  if (result.kind !== 'response') return standardErasureAnswer(result);
  const { status } = result;
  if (status >= 200 && status < 300) return { type: 'done', status };
  const error = errorText(result.body);
  return standardErasureAnswer(error === undefined ? result : { ...result, body: error });
}

export const erasure: ErasureHooks<AmplitudeSettings> = {
  missingConfig: missingAccountConfig,
  maxIdsPerRequest: MAX_IDS_PER_DELETION,
  requests,
  readAnswer,
};

function checkAnswer(result: HttpResult): CheckVerdict {
  if (result.kind !== 'response' || result.status < 400) return standardCheckVerdict(result);
  const error = errorText(result.body);
  return standardCheckVerdict(error === undefined ? result : { ...result, body: error });
}

/**
 * The check lists the deletion jobs of one long-past day: a read under the same Basic auth as erasures, answered
 * 401 when the API key and secret key do not match a project. With the API key alone Amplitude has no request that
 * changes nothing, so without `secretKey` there is no check.
 */
export const connectionCheck: ConnectionCheck<AmplitudeSettings> = {
  missingConfig: missingAccountConfig,
  request: (settings) => ({
    method: 'GET',
    url: `${deletionsUrl(settings)}?start_day=${CHECK_DAY}&end_day=${CHECK_DAY}`,
    headers: { Authorization: authorization(settings) },
  }),
  readAnswer: checkAnswer,
};
