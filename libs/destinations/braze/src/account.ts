import {
  idBatches,
  isSet,
  standardCheckVerdict,
  standardErasureAnswer,
  urlUnder,
  type CheckVerdict,
  type ConnectionCheck,
  type ErasureHooks,
  type ErasureSubject,
  type HttpRequest,
  type HttpResult,
} from '@ferry/core';
import { hasSandboxCredentials, missingConfig, restBase, type BrazeSettings } from './settings';

/** `/users/delete` takes at most 50 identifiers a request, of one kind only (reference.md §1). */
export const MAX_IDS_PER_DELETE = 50;

/** The REST base, or a placeholder host when it is missing: missingConfig() keeps such settings from being used. */
function base(settings: BrazeSettings): string {
  return restBase(settings) ?? 'https://braze-rest-endpoint-not-set.invalid';
}

/** The workspaces' keys Ferry sends with: production, and the sandbox workspace when it is configured. */
function apiKeys(settings: BrazeSettings): string[] {
  return [settings.apiKey ?? '', ...(hasSandboxCredentials(settings) ? [settings.sandboxApiKey!] : [])];
}

/**
 * Delete requests for every profile Ferry wrote the customer to, in every workspace Ferry sends to: app user ids as
 * `external_ids`, alias identities as `user_aliases`. Braze takes one kind of identifier per request, at most 50.
 */
function requests(subject: ErasureSubject, settings: BrazeSettings): HttpRequest[] {
  const externalIds = idBatches(
    [...subject.appUserIds, ...subject.identities.flatMap((identity) => (isSet(identity.external_id) ? [identity.external_id] : []))],
    MAX_IDS_PER_DELETE,
  );
  // Aliases are deduplicated and split as their JSON, then sent as Braze's alias objects.
  const aliasKeys = subject.identities.flatMap(({ alias_name: name, alias_label: label }) =>
    isSet(name) && isSet(label) ? [JSON.stringify({ alias_name: name, alias_label: label })] : [],
  );
  const aliases = idBatches(aliasKeys, MAX_IDS_PER_DELETE).map((batch) => batch.map((key) => JSON.parse(key) as object));
  const url = urlUnder(base(settings), '/users/delete');
  return apiKeys(settings).flatMap((apiKey) => {
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` };
    return [
      ...externalIds.map((external_ids) => ({ method: 'POST' as const, url, headers, body: JSON.stringify({ external_ids }) })),
      ...aliases.map((user_aliases) => ({ method: 'POST' as const, url, headers, body: JSON.stringify({ user_aliases }) })),
    ];
  });
}

export const erasure: ErasureHooks<BrazeSettings> = {
  missingConfig,
  maxIdsPerRequest: MAX_IDS_PER_DELETE,
  requests,
  // Braze answers 2xx `{"deleted": n, "message": "success"}`; a profile it does not know simply does not count.
  readAnswer: (_request, result) => standardErasureAnswer(result),
};

function checkAnswer(result: HttpResult): CheckVerdict {
  const verdict = standardCheckVerdict(result);
  if (result.kind === 'response' && (result.status === 401 || result.status === 403)) {
    return { ok: false, reason: `${verdict.reason} (Braze also answers so when the key lacks the events.list permission)` };
  }
  return verdict;
}

/**
 * The check lists the workspace's custom event names (`GET /events/list`), a read that changes nothing. Braze
 * answers 401 for an unknown key or a wrong instance, and also for a key without the `events.list` permission.
 */
export const connectionCheck: ConnectionCheck<BrazeSettings> = {
  missingConfig,
  request: (settings) => ({
    method: 'GET',
    url: urlUnder(base(settings), '/events/list'),
    headers: { Authorization: `Bearer ${settings.apiKey ?? ''}` },
  }),
  readAnswer: checkAnswer,
};
