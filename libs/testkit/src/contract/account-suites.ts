import fc from 'fast-check';
import type {
  AnyDestinationPlugin,
  CheckVerdict,
  ErasureAnswer,
  ErasureHooks,
  ErasureSubject,
  HttpRequest,
  HttpResult,
  Identity,
  SubscriptionEvent,
} from '@ferry/core';
import type { ContractErasure, DestinationContractOptions } from './options';
import { findSecret, type KnownSecret } from './secret-search';
import { deepFreeze, fixtureNames, frozenEvent, kitSettings, knownSecrets, violation, type ContractCheck } from './support';

/** fast-check's run parameters: a fixed seed (printed with a failure) and a stated number of runs. */
const RUNS = { seed: Number(process.env.PROPERTY_SEED ?? 20261215), numRuns: 300 };

/**
 * The erase hooks (SPEC §15): pure, never a secret in a URL, a body or a reason, every id of a varied customer in
 * some request, each request within the declared limit, an answer read whatever it is.
 */
export function erasureChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  const setup = () => erasureSetup(plugin, options);
  return [
    {
      title: 'an empty customer asks for no request',
      run() {
        const { hooks, settings } = setup();
        const requests = hooks.requests(deepFreeze({ appUserIds: [], identities: [] }), settings);
        if (!Array.isArray(requests) || requests.length > 0) violation(`requests for an empty subject: ${JSON.stringify(requests)}`);
      },
    },
    {
      title: 'erase requests are well formed, the same every time, and leave the customer and settings as they were',
      run() {
        const { hooks, settings, subject } = setup();
        const first = checkedRequests(hooks, subject, settings, 'the varied customer');
        const again = hooks.requests(subject, settings);
        if (JSON.stringify(first) !== JSON.stringify(again)) violation('the erase requests differ when built again from the same customer');
      },
    },
    {
      title: 'every app user id and every identity of a varied customer is in some request, none twice',
      run() {
        const { hooks, settings, subject, erasure } = setup();
        const requests = checkedRequests(hooks, subject, settings, 'the varied customer');
        const values = [
          ...subject.appUserIds.map((id) => ['app user id', id] as const),
          ...subject.identities.flatMap((identity) =>
            Object.entries(identity)
              .filter(([field]) => erasure.notErased?.[field] === undefined)
              .map(([field, value]) => [`identity field ${field}`, value] as const),
          ),
        ];
        for (const [what, value] of values) {
          if (!requests.some((request) => carries(request, value)))
            violation(`${what} ${JSON.stringify(value)} is not in any erase request`);
        }
        checkNoRepeats(requests);
      },
    },
    {
      title: 'no erase request holds more ids in one array than erasure.maxIdsPerRequest',
      run() {
        const { hooks, settings, subject } = setup();
        const max = hooks.maxIdsPerRequest;
        if (!Number.isInteger(max) || (max as number) < 1) violation('declare erasure.maxIdsPerRequest: the API limit per request');
        for (const [index, request] of checkedRequests(hooks, subject, settings, 'the varied customer').entries()) {
          for (const [path, items] of arrays(parseBody(request))) {
            if (items.length > (max as number)) violation(`request ${index}: ${path || 'the body'} holds ${items.length} ids, over ${max}`);
          }
        }
      },
    },
    {
      title: 'URLs and bodies show no secret; the kit settings lack nothing to erase',
      run() {
        const { hooks, settings, subject, secrets } = setup();
        for (const [index, request] of checkedRequests(hooks, subject, settings, 'the varied customer').entries()) {
          const shown = findSecret(`${request.url}\n${request.body ?? ''}`, secrets);
          if (shown) violation(`request ${index} shows ${shown} outside its headers`);
        }
        const missing = hooks.missingConfig?.(settings) ?? [];
        if (missing.length > 0) violation(`erasure.missingConfig complains about the kit settings: ${missing.join('; ')}`);
      },
    },
    {
      title: 'readAnswer reads any answer without throwing: done, retry or failed, with a reason naming no secret',
      run() {
        const { hooks, settings, subject, secrets } = setup();
        const requests = checkedRequests(hooks, subject, settings, 'the varied customer');
        fc.assert(
          fc.property(fc.nat(requests.length - 1), anyResult(), (index, result) => {
            checkErasureAnswer(hooks.readAnswer(requests[index], deepFreeze(result), settings), secrets);
          }),
          RUNS,
        );
      },
    },
  ];
}

/** The connection check (SPEC §15): a pure request that shows no secret, and a reading that tells valid credentials from invalid ones. */
export function connectionCheckChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  const setup = () => {
    const check = plugin.connectionCheck ?? violation('the plugin declares no connectionCheck');
    const answers = options.connectionCheck ?? violation('options.connectionCheck is required: the destination’s answers to the check');
    const kit = kitSettings(plugin, options);
    return { check, answers, settings: deepFreeze(kit.settings), secrets: knownSecrets(plugin, kit) };
  };
  return [
    {
      title: 'the check request is well formed, the same every time, and shows no secret outside its headers',
      run() {
        const { check, settings, secrets } = setup();
        const request = check.request(settings);
        checkRequestShape(request, 'the check request');
        if (JSON.stringify(check.request(settings)) !== JSON.stringify(request)) violation('the check request differs when built again');
        const shown = findSecret(`${request.url}\n${request.body ?? ''}`, secrets);
        if (shown) violation(`the check request shows ${shown} outside its headers`);
        const missing = check.missingConfig?.(settings) ?? [];
        if (missing.length > 0) violation(`connectionCheck.missingConfig complains about the kit settings: ${missing.join('; ')}`);
      },
    },
    {
      title: "the destination's answer to valid credentials reads ok, to invalid ones refused, each with a reason naming no secret",
      run() {
        const { check, answers, settings, secrets } = setup();
        const accepted = checkVerdict(check.readAnswer(deepFreeze(answers.accepted), settings), secrets);
        if (accepted.ok !== true) violation(`the answer to valid credentials reads ok: ${accepted.ok} (${accepted.reason})`);
        const refused = checkVerdict(check.readAnswer(deepFreeze(answers.refused), settings), secrets);
        if (refused.ok !== false) violation(`the answer to invalid credentials reads ok: ${refused.ok} (${refused.reason})`);
      },
    },
    {
      title: 'readAnswer reads any answer without throwing; network failures and timeouts cannot tell',
      run() {
        const { check, settings, secrets } = setup();
        fc.assert(
          fc.property(anyResult(), (result) => {
            const verdict = checkVerdict(check.readAnswer(deepFreeze(result), settings), secrets);
            if (result.kind !== 'response' && verdict.ok !== null) violation(`a ${result.kind} reads ok: ${verdict.ok}, not null`);
          }),
          RUNS,
        );
      },
    },
  ];
}

interface ErasureSetup {
  readonly hooks: ErasureHooks<unknown>;
  readonly erasure: ContractErasure;
  readonly settings: unknown;
  readonly subject: ErasureSubject;
  readonly secrets: KnownSecret[];
}

function erasureSetup(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ErasureSetup {
  const hooks = plugin.erasure ?? violation('the plugin declares no erasure hooks');
  const erasure = options.erasure ?? violation('options.erasure is required: identityAttributes that give each identity shape');
  if (erasure.identityAttributes.length === 0) violation('options.erasure.identityAttributes is empty: give at least {}');
  for (const [field, reason] of Object.entries(erasure.notErased ?? {})) {
    if (typeof reason !== 'string' || reason.trim() === '') violation(`options.erasure.notErased.${field} needs a written reason`);
  }
  const kit = kitSettings(plugin, options);
  const settings = deepFreeze(kit.sandboxSettings ?? kit.settings);
  return { hooks, erasure, settings, subject: variedSubject(plugin, erasure, settings, hooks), secrets: knownSecrets(plugin, kit) };
}

/**
 * A customer with more ids than two requests hold: app user ids (one anonymous, one repeated) and, per invented
 * user, the identity each of `identityAttributes` makes the plugin answer, every value unique. Deep-frozen.
 */
function variedSubject(
  plugin: AnyDestinationPlugin,
  erasure: ContractErasure,
  settings: unknown,
  hooks: ErasureHooks<unknown>,
): ErasureSubject {
  const base = frozenEvent(fixtureNames().find((name) => frozenEvent(name).appUserId) ?? violation('no fixture has an app user id'));
  const users = Math.ceil((2 * (hooks.maxIdsPerRequest ?? 50) + 1) / erasure.identityAttributes.length) + 1;
  const appUserIds: string[] = [];
  const identities = new Map<string, Identity>();
  for (let i = 0; i < users; i++) {
    const appUserId = i === 0 ? `$RCAnonymousID:contract-${i}` : `contract-user-${i}`;
    appUserIds.push(appUserId);
    for (const attributes of erasure.identityAttributes) {
      const unique = Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, `${value}-${i}`]));
      const event: SubscriptionEvent = { ...structuredClone(base), appUserId, attributes: unique };
      const identity = plugin.identity(deepFreeze(event), settings);
      identities.set(JSON.stringify(identity), identity);
    }
  }
  appUserIds.push(appUserIds[1]);
  return deepFreeze({ appUserIds, identities: [...identities.values()] });
}

function checkedRequests(hooks: ErasureHooks<unknown>, subject: ErasureSubject, settings: unknown, label: string): HttpRequest[] {
  const requests = hooks.requests(subject, settings);
  if (!Array.isArray(requests) || requests.length === 0) violation(`${label}: erasure.requests returned no requests`);
  requests.forEach((request, index) => checkRequestShape(request, `${label}: request ${index}`));
  return requests;
}

function checkRequestShape(request: HttpRequest, label: string): void {
  if (!['GET', 'POST', 'PUT', 'DELETE'].includes(request?.method)) violation(`${label}: method must be GET, POST, PUT or DELETE`);
  if (!URL.canParse(request.url) || !/^https?:$/.test(new URL(request.url).protocol)) violation(`${label}: url must be absolute http(s)`);
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (typeof value !== 'string') violation(`${label}: header ${name} is not a string`);
  }
  if (request.body !== undefined && typeof request.body !== 'string') violation(`${label}: body must be a string when given`);
}

/** Whether `value` is in the request: in its URL (encoded) or its body (as JSON writes it). */
function carries(request: HttpRequest, value: string): boolean {
  return request.url.includes(encodeURIComponent(value)) || (request.body ?? '').includes(JSON.stringify(value).slice(1, -1));
}

function parseBody(request: HttpRequest): unknown {
  try {
    return request.body === undefined ? undefined : JSON.parse(request.body);
  } catch {
    return undefined;
  }
}

/** Every array in a JSON value, by path. */
function arrays(value: unknown, path = ''): [string, unknown[]][] {
  if (Array.isArray(value)) return [[path, value], ...value.flatMap((item, i) => arrays(item, `${path}[${i}]`))];
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) => arrays(inner, path ? `${path}.${key}` : key));
  }
  return [];
}

/** No id is asked to go twice to one place: an array item repeated among requests to one URL with the same headers. */
function checkNoRepeats(requests: readonly HttpRequest[]): void {
  const seen = new Set<string>();
  for (const request of requests) {
    const place = JSON.stringify([request.method, request.url, request.headers]);
    for (const [path, items] of arrays(parseBody(request))) {
      for (const item of items.filter((inner) => !Array.isArray(inner))) {
        const key = `${place}\u0000${path}\u0000${JSON.stringify(item)}`;
        if (seen.has(key)) violation(`${JSON.stringify(item)} is asked to go twice (${path} of ${request.method} ${request.url})`);
        seen.add(key);
      }
    }
  }
}

function checkErasureAnswer(answer: ErasureAnswer, secrets: readonly KnownSecret[]): void {
  if (!answer || !['done', 'retry', 'failed'].includes(answer.type)) violation(`readAnswer gave ${JSON.stringify(answer)}`);
  if (answer.type !== 'done' && (typeof answer.reason !== 'string' || answer.reason === '')) violation(`${answer.type} needs a reason`);
  if (answer.type === 'retry' && answer.retryAfterMs !== undefined && !(answer.retryAfterMs >= 0)) {
    violation('retryAfterMs must be a number ≥ 0');
  }
  const shown = answer.type === 'done' ? undefined : findSecret(answer.reason, secrets);
  if (shown) violation(`an erase answer's reason shows ${shown}`);
}

function checkVerdict(verdict: CheckVerdict, secrets: readonly KnownSecret[]): CheckVerdict {
  if (!verdict || ![true, false, null].includes(verdict.ok)) violation(`readAnswer gave ${JSON.stringify(verdict)}`);
  if (typeof verdict.reason !== 'string' || verdict.reason === '') violation('a check verdict needs a reason');
  const shown = findSecret(verdict.reason, secrets);
  if (shown) violation(`a check verdict's reason shows ${shown}`);
  return verdict;
}

/** Any answer: statuses across the range, JSON or not, with or without Retry-After; network failures and timeouts. */
function anyResult(): fc.Arbitrary<HttpResult> {
  const body = fc.oneof(
    fc.string(),
    fc.json(),
    fc.constantFrom('', '{"status":"fail"}', '{"status":"success"}', '{"error":"bad"}', '<html>OK</html>', '[]', 'null'),
  );
  const headers = fc.dictionary(fc.constantFrom('retry-after', 'Retry-After', 'content-type', 'x-ratelimit-reset'), fc.string());
  return fc.oneof(
    fc.record({ kind: fc.constant('response' as const), status: fc.integer({ min: 100, max: 599 }), headers, body }),
    fc.record({ kind: fc.constantFrom('network' as const, 'timeout' as const), message: fc.string() }),
  );
}
