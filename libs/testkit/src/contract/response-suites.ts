import type { AnyDestinationPlugin, DeliveryRequest, HttpResult, Outcome, OutcomeType } from '@ferry/core';
import type { ContractResponses, DestinationContractOptions } from './options';
import { findSecret, type KnownSecret } from './secret-search';
import {
  buildChecked,
  buildSettings,
  checkOutcomes,
  deliverableFixtures,
  frozenEvent,
  kitSettings,
  knownSecrets,
  violation,
  type ContractCheck,
} from './support';

/** One answer of the matrix and the outcome types every delivery may get for it (any, when omitted). */
interface MatrixEntry {
  readonly title: string;
  readonly result: (request: DeliveryRequest, responses: ContractResponses | undefined) => HttpResult;
  readonly allowed?: readonly OutcomeType[];
  readonly retryAfterMs?: number;
}

const reply = (status: number, body: string, headers: Record<string, string> = {}): HttpResult => ({
  kind: 'response',
  status,
  headers,
  body,
});
const json = { 'content-type': 'application/json' };
const html = { 'content-type': 'text/html' };

const MATRIX: readonly MatrixEntry[] = [
  { title: "the destination's success answer → delivered", result: (r, responses) => accepted(responses)(r), allowed: ['delivered'] },
  {
    title: 'HTTP 400 with a JSON error → rejected or retry',
    result: () => reply(400, '{"error":"bad request"}', json),
    allowed: ['rejected', 'retry'],
  },
  { title: 'HTTP 422 with a text body → rejected or retry', result: () => reply(422, 'unprocessable'), allowed: ['rejected', 'retry'] },
  { title: 'HTTP 401 → auth_failed', result: () => reply(401, '{"error":"unauthorized"}', json), allowed: ['auth_failed'] },
  { title: 'HTTP 403 → auth_failed', result: () => reply(403, 'forbidden'), allowed: ['auth_failed'] },
  { title: 'HTTP 429 without Retry-After → retry', result: () => reply(429, ''), allowed: ['retry'] },
  {
    title: 'HTTP 429 with Retry-After: 7 → retry after 7 s',
    result: () => reply(429, '', { 'retry-after': '7' }),
    allowed: ['retry'],
    retryAfterMs: 7_000,
  },
  {
    title: 'HTTP 500 with an HTML page → retry',
    result: () => reply(500, '<html><body>Internal error</body></html>', html),
    allowed: ['retry'],
  },
  { title: 'HTTP 502 with no body → retry', result: () => reply(502, ''), allowed: ['retry'] },
  {
    title: 'HTTP 503 with Retry-After: 30 → retry after 30 s',
    result: () => reply(503, 'maintenance', { 'retry-after': '30' }),
    allowed: ['retry'],
    retryAfterMs: 30_000,
  },
  { title: 'a timeout → retry', result: () => ({ kind: 'timeout', message: 'no response within 10000 ms' }), allowed: ['retry'] },
  { title: 'a network error → retry', result: () => ({ kind: 'network', message: 'ECONNRESET: socket hang up' }), allowed: ['retry'] },
  { title: 'HTTP 200 with an HTML page → one outcome each', result: () => reply(200, '<html>oops</html>', html) },
  { title: 'HTTP 200 with an empty body → one outcome each', result: () => reply(200, '') },
  { title: 'HTTP 200 with JSON null → one outcome each', result: () => reply(200, 'null', json) },
  { title: 'HTTP 200 with a JSON array → one outcome each', result: () => reply(200, '[]', json) },
  { title: 'HTTP 200 with JSON of another shape → one outcome each', result: () => reply(200, '{"unexpected":{"status":7}}', json) },
  { title: 'HTTP 200 with a truncated JSON body → one outcome each', result: () => reply(200, '{"status":"succ', json) },
  { title: 'HTTP 200 with binary garbage → one outcome each', result: () => reply(200, '\u0000\u00ff\ufffd\u0001garbage') },
  { title: 'HTTP 204 → one outcome each', result: () => reply(204, '') },
  {
    title: 'HTTP 400 with an HTML page → rejected or retry',
    result: () => reply(400, '<html>Bad Request</html>', html),
    allowed: ['rejected', 'retry'],
  },
];

/** Every delivery of every request gets exactly one well-formed outcome, whatever comes back. */
export function responsesChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  return MATRIX.map((entry) => ({
    title: entry.title,
    run() {
      for (const { settings, label: under, requests, secrets } of prepare(plugin, options)) {
        for (const request of requests) {
          const label = `${entry.title.split(' → ')[0]} for a request of ${request.deliveryIds.length} under ${under}`;
          const outcomes = parseSafely(plugin, request, entry.result(request, options.responses), settings, label);
          checkOutcomes(request, outcomes, label);
          for (const outcome of outcomes) {
            if (entry.allowed && !entry.allowed.includes(outcome.type)) {
              violation(`${label}: ${outcome.deliveryId} is ${outcome.type}, expected ${entry.allowed.join(' or ')}`);
            }
            if (entry.retryAfterMs !== undefined && outcome.type === 'retry' && outcome.retryAfterMs !== entry.retryAfterMs) {
              violation(
                `${label}: ${outcome.deliveryId} should retry after ${entry.retryAfterMs} ms (Retry-After), not ${outcome.retryAfterMs}`,
              );
            }
          }
          const leak = findSecret(JSON.stringify(outcomes), secrets);
          if (leak) violation(`${label}: the outcomes show ${leak}`);
        }
      }
    },
  }));
}

/**
 * A partial answer refuses exactly the deliveries it names. The others are delivered, or with `others:
 * 'retry'` (a destination that takes a request whole or not at all) retried, and then the refused ones
 * must not be retried just like them: the answer tells them apart, so the plugin must too.
 */
export function partialResponsesChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  return [
    {
      title: 'a partial answer refuses exactly the refused deliveries; the rest are delivered, or retried when none was taken',
      run() {
        const partial = options.responses?.partial;
        if (!partial) violation("give options.responses.partial, or skip 'partial-responses' with the reason the destination has none");
        for (const prepared of prepare(plugin, options)) checkPartial(plugin, partial, prepared);
      },
    },
  ];
}

function checkPartial(
  plugin: AnyDestinationPlugin,
  partial: NonNullable<ContractResponses['partial']>,
  { settings, label: under, requests }: Prepared,
): void {
  const request = requests.find((r) => r.deliveryIds.length >= 2);
  if (!request) violation("no request carries two deliveries; skip 'partial-responses' with a reason if it takes one per request");
  const { result, refused, others = 'delivered', noted = [] } = partial(request);
  if (refused.length === 0 || refused.length >= request.deliveryIds.length || !refused.every((id) => request.deliveryIds.includes(id))) {
    violation('options.responses.partial must refuse a non-empty proper subset of the request’s deliveryIds');
  }
  if (others !== 'delivered' && others !== 'retry') {
    violation(`options.responses.partial: others must be 'delivered' or 'retry', not ${JSON.stringify(others)}`);
  }
  if (!noted.every((id) => request.deliveryIds.includes(id) && !refused.includes(id))) {
    violation('options.responses.partial: noted must name deliveries of the request that are not refused');
  }
  const label = `the partial answer under ${under}`;
  const outcomes = parseSafely(plugin, request, result, settings, label);
  checkOutcomes(request, outcomes, label);
  const [refusedOutcomes, otherOutcomes] = [true, false].map((wanted) => outcomes.filter((o) => refused.includes(o.deliveryId) === wanted));
  for (const outcome of otherOutcomes.filter((o) => noted.includes(o.deliveryId))) {
    // Its deciding record was taken: sending it again would duplicate it, and rejecting it would hide that it landed.
    if (outcome.type !== 'delivered') {
      violation(
        `${label}: only a record of ${outcome.deliveryId} that does not decide it was refused, but it is ${outcome.type}; it was taken`,
      );
    }
    if (typeof outcome.note !== 'string' || outcome.note === '') {
      violation(`${label}: ${outcome.deliveryId} is delivered without a note saying which of its records was refused`);
    }
  }
  for (const outcome of otherOutcomes) {
    if (outcome.type === others) continue;
    if (others === 'delivered') violation(`${label}: ${outcome.deliveryId} was taken but is ${outcome.type}`);
    violation(
      `${label}: ${outcome.deliveryId} was not ingested (the destination took none of the request) but is ${outcome.type}; it must be retried`,
    );
  }
  for (const outcome of refusedOutcomes) {
    if (outcome.type === 'delivered') violation(`${label}: ${outcome.deliveryId} was refused but counts as delivered`);
    if (otherOutcomes.some((other) => sameRetry(other, outcome)))
      violation(`${label}: ${outcome.deliveryId} was refused but is retried just like the deliveries the answer did not name`);
  }
}

/** Both retried after the same delay: nothing tells them apart. */
function sameRetry(a: Outcome, b: Outcome): boolean {
  return a.type === 'retry' && b.type === 'retry' && a.retryAfterMs === b.retryAfterMs;
}

/** parseResponse must answer whatever came back: a throw is a violation, named as one. */
function parseSafely(
  plugin: AnyDestinationPlugin,
  request: DeliveryRequest,
  result: HttpResult,
  settings: unknown,
  label: string,
): Outcome[] {
  try {
    return plugin.parseResponse(request, result, settings);
  } catch (error) {
    return violation(`${label}: parseResponse threw: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function accepted(responses: ContractResponses | undefined): ContractResponses['accepted'] {
  return responses?.accepted ?? violation("give options.responses.accepted, or skip 'responses' with a reason");
}

interface Prepared {
  readonly settings: unknown;
  readonly label: string;
  readonly requests: DeliveryRequest[];
  readonly secrets: KnownSecret[];
}

/** Requests to answer, under each of the kit's build settings: the first few fixtures the destination sends, batched as it batches them. */
function prepare(plugin: AnyDestinationPlugin, options: DestinationContractOptions): Prepared[] {
  const secrets = knownSecrets(plugin, kitSettings(plugin, options));
  return buildSettings(plugin, options).map(([label, settings]) => {
    const names = deliverableFixtures(plugin, settings).slice(0, Math.min(3, plugin.capabilities.batch.maxItems));
    if (names.length === 0) violation(`no production fixture passes the filter under ${label}`);
    const batch = names.map((name) => ({ deliveryId: `delivery-${name}`, event: frozenEvent(name) }));
    return { settings, label, requests: buildChecked(plugin, batch, settings, `the batch to answer under ${label}`), secrets };
  });
}
