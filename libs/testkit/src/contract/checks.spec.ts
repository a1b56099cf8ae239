import { secret, standardFailureOutcomes, type DeliveryRequest, type DestinationPlugin, type Outcome, type Planned } from '@ferry/core';
import { z } from 'zod';
import { connectionCheckChecks, erasureChecks } from './account-suites';
import { capabilitiesChecks } from './capabilities-suite';
import type { ContractResponses, DestinationContractOptions } from './options';
import { batchingChecks, requestsChecks } from './request-suites';
import { partialResponsesChecks, responsesChecks } from './response-suites';
import {
  buildSampleRequests,
  refusingSecondAndFirstState,
  sampleCapabilities,
  sampleOptions,
  samplePlugin,
  sampleSettings,
  wholeOrNothingOptions,
  wholeOrNothingPlugin,
  type SampleSettings,
} from './sample-destination.spec-helper';
import { secretsChecks, settingsChecks } from './settings-suites';
import { subscriptionStateChecks } from './state-suite';
import { ContractViolation, type ContractCheck } from './support';

// Each check must catch the one rule a broken variant of the sample destination breaks.

type Suite = (plugin: DestinationPlugin<SampleSettings>, options: DestinationContractOptions) => ContractCheck[];

function runCheck(suite: Suite, title: string, plugin: DestinationPlugin<SampleSettings>, options = sampleOptions): void {
  const found = suite(plugin, options).find((check) => check.title.includes(title));
  if (!found) throw new Error(`no check titled "${title}"`);
  found.run();
}

function expectViolation(run: () => void, message: RegExp): void {
  expect(run).toThrow(ContractViolation);
  expect(run).toThrow(message);
}

const broken = (overrides: Partial<DestinationPlugin<SampleSettings>>): DestinationPlugin<SampleSettings> => ({
  ...samplePlugin,
  ...overrides,
});
const ok = () => ({ kind: 'response' as const, status: 200, headers: {}, body: '{"rejected":[]}' });
// The sample's schema without its eventNames refinement.
const unrefined = () => z.object(sampleSettings.shape).strict() as unknown as typeof sampleSettings;

describe('settings checks', () => {
  it('the sample passes every one', () => {
    for (const check of settingsChecks(samplePlugin, sampleOptions)) expect(() => check.run()).not.toThrow();
  });
  it('catch an example the schema refuses', () => {
    const plugin = broken({ exampleSettings: { ...samplePlugin.exampleSettings, endpoint: 'nope' } });
    expectViolation(() => runCheck(settingsChecks, 'documented example', plugin), /exampleSettings do not validate: endpoint/);
  });
  it('catch a missingConfig complaint about a fully configured destination', () => {
    const plugin = broken({ missingConfig: () => ['settings.region is not set'] });
    expectViolation(() => runCheck(settingsChecks, 'misses nothing', plugin), /settings\.region is not set/);
  });
  it('catch a schema that takes anything', () => {
    const plugin = broken({ settings: z.any() as unknown as typeof sampleSettings });
    expectViolation(() => runCheck(settingsChecks, 'not an object', plugin), /accepted null/);
  });
  it('catch a bad config that is accepted, and one reported at other paths', () => {
    const lenient = broken({ settings: z.object({ ...sampleSettings.shape, endpoint: z.string() }) as unknown as typeof sampleSettings });
    expectViolation(() => runCheck(settingsChecks, 'rejects {"endpoint"', lenient), /accepted \{"endpoint":"ftp/);
    const options = { ...sampleOptions, invalidSettings: [{ settings: { endpoint: 'ftp://x' }, paths: ['region'] }] };
    expectViolation(
      () => runCheck(settingsChecks, 'rejects {"endpoint"', samplePlugin, options),
      /expected problems at region; the schema reported endpoint: /,
    );
  });
  it('insist on at least one bad config, each naming a path', () => {
    expectViolation(
      () => runCheck(settingsChecks, 'is given bad configs', samplePlugin, { ...sampleOptions, invalidSettings: [] }),
      /invalidSettings is empty/,
    );
    const options = { ...sampleOptions, invalidSettings: [{ settings: { endpoint: 'ftp://x' }, paths: [] }] };
    expectViolation(() => runCheck(settingsChecks, 'naming (no path given)', samplePlugin, options), /must name at least one path/);
  });
});

describe('secrets checks', () => {
  it('the sample passes every one', () => {
    for (const check of secretsChecks(samplePlugin, sampleOptions)) expect(() => check.run()).not.toThrow();
  });
  it('catch a credential setting not declared secret', () => {
    const plugin = broken({ secrets: ['apiKey'] });
    expectViolation(
      () => runCheck(secretsChecks, 'named like credentials', plugin),
      /mark sandboxApiKey with secret\(\) in the settings schema/,
    );
  });
  it('catch secrets listed apart from the schema: unmarked, or marked but not listed', () => {
    const unmarked = broken({ settings: unrefined().extend({ token: z.string().optional() }) as unknown as typeof sampleSettings });
    expectViolation(
      () => runCheck(secretsChecks, 'marks with secret()', { ...unmarked, secrets: [...samplePlugin.secrets, 'token'] }),
      /mark token with secret\(\) in the settings schema/,
    );
    expectViolation(
      () => runCheck(secretsChecks, 'marks with secret()', broken({ secrets: ['apiKey'] })),
      /sandboxApiKey marked secret but not in secrets/,
    );
    expectViolation(
      () => runCheck(secretsChecks, 'marks with secret()', broken({ settings: z.any() as unknown as typeof sampleSettings })),
      /secrets cannot be read from the settings schema/,
    );
  });
  it('catch secrets the kit cannot look for: unset, too short, or not top-level', () => {
    const short = { ...sampleOptions, settings: { apiKey: 'short' }, sandboxSettings: undefined };
    expectViolation(
      () => runCheck(secretsChecks, 'declared secret is set', samplePlugin, short),
      /secret "apiKey" must be a top-level setting/,
    );
    const nested = broken({ secrets: ['apiKey', 'sandboxApiKey', 'auth.token'] });
    expectViolation(() => runCheck(secretsChecks, 'declared secret is set', nested), /secret "auth.token"/);
  });
  it('catch validation errors and missingConfig messages that quote a secret', () => {
    const echoing = sampleSettings.superRefine((s, ctx) => {
      if (s.salesReporting === 'after_store_commission')
        ctx.addIssue({ code: 'custom', path: ['salesReporting'], message: `not with key ${s.apiKey}` });
    });
    const plugin = broken({ settings: echoing as unknown as typeof sampleSettings });
    const options = {
      ...sampleOptions,
      invalidSettings: [{ settings: { salesReporting: 'after_store_commission' }, paths: ['salesReporting'] }],
    };
    expectViolation(() => runCheck(secretsChecks, 'validation errors', plugin, options), /secret "apiKey" verbatim/);
    const telling = broken({ missingConfig: (s) => (s.sandboxApiKey ? [] : [`no sandbox key to go with ${s.apiKey}`]) });
    expectViolation(() => runCheck(secretsChecks, 'missingConfig shows', telling), /missingConfig shows secret "apiKey" verbatim/);
  });
});

describe('capabilities checks', () => {
  it('catch malformed capabilities', () => {
    const plugin = broken({ capabilities: { ...sampleCapabilities, batch: { maxItems: 0 } } });
    expectViolation(() => runCheck(capabilitiesChecks, 'well formed', plugin), /maxItems must be an integer/);
    const unknownKind = broken({
      capabilities: { ...sampleCapabilities, kinds: { teleported: { defaultName: 'x', optional: true } } as never },
    });
    expectViolation(() => runCheck(capabilitiesChecks, 'well formed', unknownKind), /kinds\.teleported is not an event kind/);
  });
  it('catch hooks that answer differently each time', () => {
    let calls = 0;
    const plugin = broken({ eventName: () => `event_${++calls}` });
    expectViolation(() => runCheck(capabilitiesChecks, 'fixture renewal:', plugin), /answered differently the second time/);
  });
  it('catch a hook that changes the event it is given', () => {
    const plugin = broken({
      identity: (event) => {
        (event.attributes as Record<string, string>).seen = 'yes';
        return { user_id: 'u' };
      },
    });
    expect(() => runCheck(capabilitiesChecks, 'fixture renewal:', plugin)).toThrow(TypeError);
  });
  it('catch an empty identity, a bad currency and a skip without a reason', () => {
    expectViolation(() => runCheck(capabilitiesChecks, 'fixture renewal:', broken({ identity: () => ({}) })), /identity is empty/);
    const lowerCase = broken({ revenue: () => ({ amount: 1, currency: 'usd' }) });
    expectViolation(() => runCheck(capabilitiesChecks, 'fixture renewal:', lowerCase), /ISO 4217/);
    const silent = broken({ filter: () => ({ rule: 'nope', reason: '' }) });
    expectViolation(() => runCheck(capabilitiesChecks, 'fixture renewal:', silent), /a skip needs a rule and a reason/);
  });
  it('catch negative revenue a destination cannot take, and a refund not reported negative when it can', () => {
    const unclamped = broken({ revenue: (event) => ({ amount: event.priceUsd ?? 0, currency: 'USD' }) });
    expectViolation(() => runCheck(capabilitiesChecks, 'refunds are', unclamped), /fixture refund is -9\.99, below 0/);
    const declaresNegative = broken({ capabilities: { ...sampleCapabilities, negativeRevenue: true } });
    expectViolation(() => runCheck(capabilitiesChecks, 'refunds are', declaresNegative), /a refund should be negative/);
  });
  it('catch a transfer sent by a destination that declares none', () => {
    const plugin = broken({ filter: () => undefined });
    expectViolation(() => runCheck(capabilitiesChecks, 'transfers are', plugin), /fixture transfer passes the filter/);
  });
  it('catch each sandbox policy broken', () => {
    const noSandboxSettings = { ...sampleOptions, sandboxSettings: undefined };
    expectViolation(() => runCheck(capabilitiesChecks, 'sandbox events', samplePlugin, noSandboxSettings), /sandboxSettings is required/);
    const leaky = { ...sampleOptions, settings: sampleOptions.sandboxSettings! };
    expectViolation(
      () => runCheck(capabilitiesChecks, 'sandbox events', samplePlugin, leaky),
      /passes the filter without sandbox credentials/,
    );
    const drops = broken({ capabilities: { ...sampleCapabilities, sandbox: 'drop' } });
    expectViolation(
      () => runCheck(capabilitiesChecks, 'sandbox events', drops),
      /passes the filter under options.sandboxSettings; sandbox events are dropped/,
    );
    const forwards = broken({ capabilities: { ...sampleCapabilities, sandbox: 'forward' } });
    expectViolation(() => runCheck(capabilitiesChecks, 'sandbox events', forwards), /is skipped \(sandbox_without_credentials/);
  });
  it('catch kinds the filter does not honour', () => {
    const skipsRenewals = broken({
      filter: (event, s) => (event.kind === 'renewal' ? { rule: 'no', reason: 'no' } : samplePlugin.filter(event, s)),
    });
    expectViolation(
      () => runCheck(capabilitiesChecks, 'renewal: sent as', skipsRenewals),
      /is skipped \(no: no\), but kinds declares renewal/,
    );
    const sendsPaused = broken({ filter: () => undefined });
    expectViolation(
      () => runCheck(capabilitiesChecks, 'subscription_paused: not taken', sendsPaused),
      /kinds does not declare subscription_paused/,
    );
  });
  it('catch names that ignore eventNames, optional kinds that cannot be switched off, and required ones that can', () => {
    const fixedNames = broken({ eventName: (event) => sampleCapabilities.kinds[event.kind!]!.defaultName });
    expectViolation(() => runCheck(capabilitiesChecks, 'renewal: sent as', fixedNames), /does not rename fixture renewal/);
    const alwaysOn = broken({ filter: (event, s) => samplePlugin.filter(event, { ...s, eventNames: undefined }) });
    expectViolation(
      () => runCheck(capabilitiesChecks, 'expiration: sent as', alwaysOn),
      /eventNames.expiration = null does not switch fixture expiration off/,
    );
    const lax = broken({ settings: unrefined() });
    expectViolation(() => runCheck(capabilitiesChecks, 'renewal: sent as', lax), /must be a config error at eventNames.renewal/);
  });
  it('catch an unforwarded type that is sent', () => {
    const plugin = broken({ filter: (event, s) => (event.type === 'TEST' ? undefined : samplePlugin.filter(event, s)) });
    expectViolation(() => runCheck(capabilitiesChecks, 'no kind covers', plugin), /fixture test \(TEST\) passes the filter/);
  });
});

describe('request checks', () => {
  it('catch requests that differ from one build to the next', () => {
    let builds = 0;
    const plugin = broken({
      buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, body: `${r.body} ${++builds}` })),
    });
    expectViolation(() => runCheck(requestsChecks, 'every fixture', plugin), /request 0 has a different body when built again/);
  });
  it('catch a lost, a repeated and a foreign delivery id', () => {
    const losing = broken({
      buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, deliveryIds: r.deliveryIds.slice(1) })),
    });
    expectViolation(() => runCheck(requestsChecks, 'a batch of every fixture', losing), /exactly once: missing initial_purchase/);
    const repeating = broken({
      buildRequests: (batch, s) => [...samplePlugin.buildRequests(batch, s), ...samplePlugin.buildRequests(batch, s)],
    });
    expectViolation(() => runCheck(requestsChecks, 'a batch of every fixture', repeating), /exactly once: repeated initial_purchase/);
    const foreign = broken({
      buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, deliveryIds: [...r.deliveryIds, 'x'] })),
    });
    expectViolation(() => runCheck(requestsChecks, 'a batch of every fixture', foreign), /unknown x/);
  });
  it('catch malformed requests', () => {
    const relative = broken({ buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, url: '/events' })) });
    expectViolation(() => runCheck(requestsChecks, 'every fixture', relative), /url is not an absolute URL/);
    const keyless = broken({
      buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, concurrencyKey: '' })),
    });
    expectViolation(() => runCheck(requestsChecks, 'every fixture', keyless), /concurrencyKey is empty/);
  });
  it('let the preview redact Basic credentials, and catch secrets in keys and warnings', () => {
    const basic = broken({
      buildRequests: (batch, s) =>
        samplePlugin
          .buildRequests(batch, s)
          .map((r) => ({ ...r, headers: { authorization: `Basic ${Buffer.from(`user:${s.apiKey}`).toString('base64')}` } })),
    });
    // Redaction finds a secret inside base64 at any offset, so the preview hides it.
    expect(() => runCheck(requestsChecks, 'the preview shows no secret', basic)).not.toThrow();
    const keyed = broken({
      buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, concurrencyKey: `sample:${s.apiKey}` })),
    });
    expectViolation(
      () => runCheck(requestsChecks, 'the preview shows no secret', keyed),
      /concurrencyKey or warnings show secret "apiKey" verbatim/,
    );
    const warned = broken({
      buildRequests: (batch, s) =>
        samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, warnings: [`dropped ${encodeURIComponent(s.apiKey!)}`] })),
    });
    const spaced = { ...sampleOptions, settings: { apiKey: 'sample key+0001' }, sandboxSettings: undefined };
    expectViolation(() => runCheck(requestsChecks, 'the preview shows no secret', warned, spaced), /secret "apiKey" URL-encoded/);
  });
  it('look for each string of a secret that is an object of credentials (static headers)', () => {
    const withHeaders = z.object({ ...sampleSettings.shape, headers: secret(z.record(z.string(), z.string())).optional() }).strict();
    const leaking = broken({
      settings: withHeaders as unknown as typeof sampleSettings,
      secrets: ['apiKey', 'sandboxApiKey', 'headers'],
      buildRequests: (batch, s) =>
        samplePlugin
          .buildRequests(batch, s)
          .map((r) => ({ ...r, concurrencyKey: `sample:${(s as { headers?: Record<string, string> }).headers?.['X-Token']}` })),
    });
    const options = { ...sampleOptions, settings: { ...sampleOptions.settings, headers: { 'X-Token': 'sample-header-token-0003' } } };
    expect(() => runCheck(secretsChecks, 'declared secret is set', leaking, options)).not.toThrow();
    expectViolation(
      () => runCheck(requestsChecks, 'the preview shows no secret', leaking, options),
      /concurrencyKey or warnings show secret "headers" verbatim/,
    );
  });
  it('catch sandbox events sent with production ones, or production sent to the sandbox key', () => {
    const oneKey = broken({
      buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, concurrencyKey: 'sample' })),
    });
    expectViolation(() => runCheck(requestsChecks, 'sandbox events go to', oneKey), /share a concurrency key/);
    const mixing = broken({
      buildRequests: (batch, s) => [{ ...samplePlugin.buildRequests(batch, s)[0], deliveryIds: batch.map((p) => p.deliveryId) }],
    });
    expectViolation(
      () => runCheck(requestsChecks, 'sandbox events go to', mixing),
      /one request carries production initial_purchase and sandbox/,
    );
    const moved = broken({
      buildRequests: (batch, s) =>
        samplePlugin
          .buildRequests(batch, s)
          .map((r) => ({ ...r, concurrencyKey: s.sandboxApiKey ? `${r.concurrencyKey}+` : r.concurrencyKey })),
    });
    expectViolation(
      () => runCheck(requestsChecks, 'sandbox events go to', moved),
      /production fixture initial_purchase goes to another concurrency key/,
    );
  });
});

describe('body record checks', () => {
  const withState = { ...sampleOptions, settings: { ...sampleOptions.settings, stateRecords: true } };
  const reRecord = (edit: (records: NonNullable<DeliveryRequest['records']>) => DeliveryRequest['records']) =>
    broken({ buildRequests: (batch, s) => samplePlugin.buildRequests(batch, s).map((r) => ({ ...r, records: edit(r.records ?? []) })) });
  it('catch a delivery with two deciding records, or none', () => {
    const twoDecide = reRecord((records) => records.map((record) => ({ ...record, decides: true })));
    expectViolation(
      () => runCheck(requestsChecks, 'a batch of every fixture', twoDecide, withState),
      /the deciding records must hold each delivery exactly once: repeated initial_purchase/,
    );
    const noneDecides = reRecord((records) => records.map((record) => ({ ...record, decides: false })));
    expectViolation(
      () => runCheck(requestsChecks, 'a batch of every fixture', noneDecides, withState),
      /the deciding records must hold each delivery exactly once: missing initial_purchase/,
    );
  });
  it('catch a record naming a delivery the request does not carry', () => {
    const foreign = reRecord((records) => [...records, { deliveryId: 'elsewhere', part: 'state', decides: false }]);
    expectViolation(
      () => runCheck(requestsChecks, 'a batch of every fixture', foreign, withState),
      /record \d+ names delivery "elsewhere", which the request does not carry/,
    );
  });
  it('catch requests filled by deliveries, over maxItems in body records', () => {
    const byDeliveries = broken({ buildRequests: (batch, s) => buildSampleRequests(batch, s, { countRecords: false }) });
    expect(() => runCheck(batchingChecks, 'maxItems + 1', byDeliveries, { ...sampleOptions, subscriptionState: undefined })).not.toThrow();
    expectViolation(
      () => runCheck(batchingChecks, 'maxItems + 1', byDeliveries),
      /under options.settings with options.subscriptionState.settings, request 0 carries \d+ body records, over maxItems 5/,
    );
  });
});

describe('subscription-state checks', () => {
  const runState = (title: string, plugin: DestinationPlugin<SampleSettings>, options = sampleOptions) =>
    runCheck(subscriptionStateChecks, title, plugin, options);
  const withCarriesState = (carriesState: (planned: Planned, index: number, batch: readonly Planned[]) => boolean | undefined) =>
    broken({
      buildRequests: (batch, s) =>
        samplePlugin.buildRequests(
          batch.map((p, i) => ({ ...p, carriesState: carriesState(p, i, batch) })),
          s,
        ),
    });
  it('the sample passes every one', () => {
    for (const check of subscriptionStateChecks(samplePlugin, sampleOptions)) expect(() => check.run()).not.toThrow();
  });
  it('catch a plugin that declares state but never sends it', () => {
    expectViolation(
      () =>
        runState(
          'every fixture carries',
          withCarriesState(() => false),
        ),
      /fixture initial_purchase with carriesState true: carries no state, expected carries "active"/,
    );
  });
  it('catch a plugin that sends state when carriesState is false', () => {
    expectViolation(
      () =>
        runState(
          'every fixture carries',
          withCarriesState(() => true),
        ),
      /fixture initial_purchase with carriesState false: carries "active", expected carries no state/,
    );
    expectViolation(
      () =>
        runState(
          'lifecycle shuffled',
          withCarriesState(() => true),
        ),
      /the lifecycle shuffled with seed \d, one at a time, ends carries "\w+"; in order it ends carries "expired"/,
    );
  });
  it("catch a batch that takes every delivery's carriesState from the first", () => {
    expectViolation(
      () =>
        runState(
          'in one batch',
          withCarriesState((_p, _i, batch) => batch[0].carriesState),
        ),
      /the mixed batch: \S+ \(carriesState false\) carries "\w+", expected carries no state/,
    );
  });
  it('catch a plugin that reorders a batch (the destination applies state in body order)', () => {
    const reversing = broken({ buildRequests: (batch, s) => samplePlugin.buildRequests([...batch].reverse(), s) });
    expectViolation(
      () => runState('lifecycle shuffled', reversing),
      /the lifecycle in order, in one batch, ends carries "trial", expected carries "expired"/,
    );
  });
  it('catch a plugin that sorts a batch by time: on equal timestamps the later-received must win', () => {
    const sorting = broken({
      buildRequests: (batch, s) =>
        samplePlugin.buildRequests(
          [...batch].sort((a, b) => a.event.timestampMs - b.event.timestampMs || a.event.id.localeCompare(b.event.id)),
          s,
        ),
    });
    expect(() => runState('lifecycle shuffled', sorting)).not.toThrow();
    expectViolation(() => runState('equal timestamps', sorting), /both at \d+, in one batch: ends carries "\w+", expected carries "\w+"/);
  });
  it('catch a sendsState that says the state settings send none, or that lets state go unguarded', () => {
    expectViolation(
      () => runState('sendsState', broken({ sendsState: () => false })),
      /sendsState says options.settings with options.subscriptionState.settings send no state/,
    );
    const alwaysState = broken({ buildRequests: (batch, s) => samplePlugin.buildRequests(batch, { ...s, stateRecords: true }) });
    expectViolation(
      () => runState('sendsState', alwaysState),
      /fixture initial_purchase under options.settings \(sendsState false\), carriesState true: carries "active", expected carries no state/,
    );
  });
  it('catch a record marked carriesState for a delivery that carries none, or two of one delivery', () => {
    const markingAll = broken({
      buildRequests: (batch, s) =>
        samplePlugin
          .buildRequests(batch, s)
          .map((r) => ({ ...r, records: r.records?.map((record) => ({ ...record, carriesState: true })) })),
    });
    expectViolation(() => runState('marked carriesState', markingAll), /marks a record of \S+ carriesState, but it carries no state/);
    const markingTwo = broken({
      buildRequests: (batch, s) =>
        samplePlugin.buildRequests(batch, s).map((r) => {
          const stateful = new Set(r.records?.filter((record) => record.carriesState).map((record) => record.deliveryId));
          return { ...r, records: r.records?.map((record) => ({ ...record, carriesState: stateful.has(record.deliveryId) })) };
        }),
    });
    expectViolation(() => runState('marked carriesState', markingTwo), /marks 2 records of \S+ carriesState/);
  });
  it('catch a reader that does not read the body, and require one', () => {
    const inventing = {
      ...sampleOptions,
      subscriptionState: { ...sampleOptions.subscriptionState, carried: () => ({ delivery: 'paused' }) },
    };
    expectViolation(
      () => runState('every fixture carries', samplePlugin, inventing),
      /options.subscriptionState.carried says delivery carries "paused", but the body holds no such value/,
    );
    expectViolation(
      () => runState('every fixture carries', samplePlugin, { ...sampleOptions, subscriptionState: undefined }),
      /capabilities.subscriptionState is declared: give options.subscriptionState/,
    );
  });
});

describe('batching checks', () => {
  it('catch requests over maxItems', () => {
    const plugin = broken({ capabilities: { ...sampleCapabilities, batch: { maxItems: 2, maxBytes: 20_000 } } });
    expectViolation(
      () => runCheck(batchingChecks, 'maxItems + 1', plugin),
      /under options.settings, request 0 carries 3 body records, over maxItems 2/,
    );
  });
  it('catch requests over maxBytes', () => {
    const plugin = broken({ capabilities: { ...sampleCapabilities, batch: { maxItems: 5, maxBytes: 10_000 } } });
    expectViolation(() => runCheck(batchingChecks, 'large deliveries', plugin), /-byte body, over maxBytes 10000/);
  });
});

describe('response checks', () => {
  it('catch outcomes of the wrong type, and a Retry-After ignored', () => {
    const allRejected = broken({
      parseResponse: (request) => standardFailureOutcomes(request, { kind: 'response', status: 400, headers: {}, body: '' }, 0),
    });
    expectViolation(() => runCheck(responsesChecks, 'HTTP 401', allRejected), /is rejected, expected auth_failed/);
    const impatient = broken({ parseResponse: (request) => standardFailureOutcomes(request, { kind: 'timeout', message: 't' }, 0) });
    expectViolation(
      () => runCheck(responsesChecks, 'Retry-After: 7', impatient),
      /should retry after 7000 ms \(Retry-After\), not undefined/,
    );
  });
  it('catch a delivery left without an outcome, or given two', () => {
    const dropping = broken({ parseResponse: (request, result, s) => samplePlugin.parseResponse(request, result, s).slice(1) });
    expectViolation(() => runCheck(responsesChecks, 'JSON null', dropping), /the outcomes must hold each delivery exactly once: missing/);
    const doubling = broken({
      parseResponse: (request, result, s) => [
        ...samplePlugin.parseResponse(request, result, s),
        samplePlugin.parseResponse(request, result, s)[0],
      ],
    });
    expectViolation(() => runCheck(responsesChecks, 'HTTP 502', doubling), /repeated/);
  });
  it('catch an outcome without a reason, and a crash on garbage', () => {
    const terse = broken({
      parseResponse: (request) => request.deliveryIds.map((deliveryId) => ({ deliveryId, type: 'retry' as const, reason: '' })),
    });
    expectViolation(() => runCheck(responsesChecks, 'a timeout', terse), /retry needs a reason/);
    const trusting = broken({
      parseResponse: (request, result, s) => {
        JSON.parse(result.kind === 'response' ? result.body : '');
        return samplePlugin.parseResponse(request, result, s);
      },
    });
    expectViolation(() => runCheck(responsesChecks, 'HTML page → one outcome', trusting), /parseResponse threw: .*JSON/);
  });
  it('catch a secret in an outcome reason', () => {
    const plugin = broken({
      parseResponse: (request) =>
        request.deliveryIds.map((deliveryId) => ({
          deliveryId,
          type: 'retry' as const,
          reason: `failed: ${JSON.stringify(request.headers)}`,
        })),
    });
    expectViolation(() => runCheck(responsesChecks, 'a network error', plugin), /the outcomes show secret "apiKey" verbatim/);
  });
  it('require the success answer unless the suite is skipped', () => {
    const { responses: _none, ...options } = sampleOptions;
    expectViolation(() => runCheck(responsesChecks, 'success answer', samplePlugin, options), /give options.responses.accepted/);
  });
  it('catch a partial answer read as all delivered, and require a partial answer', () => {
    const optimistic = broken({
      parseResponse: (request) => request.deliveryIds.map((deliveryId) => ({ deliveryId, type: 'delivered' as const })),
    });
    expectViolation(() => runCheck(partialResponsesChecks, 'partial answer', optimistic), /was refused but counts as delivered/);
    const options = { ...sampleOptions, responses: { accepted: ok } };
    expectViolation(() => runCheck(partialResponsesChecks, 'partial answer', samplePlugin, options), /give options.responses.partial/);
    const single = broken({ capabilities: { ...sampleCapabilities, batch: { maxItems: 1 } } });
    expectViolation(() => runCheck(partialResponsesChecks, 'partial answer', single), /no request carries two deliveries/);
  });
  it("catch the rest not delivered when the partial answer's others are 'delivered' (the default)", () => {
    const pessimistic = broken({
      parseResponse: (request) => request.deliveryIds.map((deliveryId) => ({ deliveryId, type: 'retry' as const, reason: 'unsure' })),
    });
    expectViolation(() => runCheck(partialResponsesChecks, 'partial answer', pessimistic), /initial_purchase was taken but is retry/);
  });
});

describe("partial-response checks with others: 'retry' (a destination that takes a request whole or not at all)", () => {
  const run =
    (plugin: DestinationPlugin<SampleSettings>, options = wholeOrNothingOptions) =>
    () =>
      runCheck(partialResponsesChecks, 'partial answer', plugin, options);
  it('pass a plugin that rejects the refused delivery and retries the others', () => {
    expect(run(wholeOrNothingPlugin)).not.toThrow();
  });
  it('catch the others counted as delivered', () => {
    const options = withPartial((request) => ({ result: ok(), refused: [request.deliveryIds[1]], others: 'retry' }));
    const readsRefusals = broken({
      parseResponse: (request, _result, s) =>
        samplePlugin.parseResponse(request, { ...ok(), body: '{"rejected":[{"index":1,"reason":"bad"}]}' }, s),
    });
    expectViolation(
      run(readsRefusals, options),
      /initial_purchase was not ingested \(the destination took none of the request\) but is delivered; it must be retried/,
    );
  });
  it('catch a partial answer read as a plain 400: the others rejected with the refused one', () => {
    expectViolation(
      run(broken({ parseResponse: (request, result) => standardFailureOutcomes(request, result, 0) })),
      /initial_purchase was not ingested .* but is rejected/,
    );
  });
  it('catch the refused delivery retried just like the others, as a plain failure would be', () => {
    const retriesAll = broken({
      parseResponse: (request) => standardFailureOutcomes(request, { kind: 'response', status: 503, headers: {}, body: '' }, 0),
    });
    expectViolation(run(retriesAll), /trial_started was refused but is retried just like the deliveries the answer did not name/);
  });
  it('pass a refused delivery retried later than the others (a throttled user, say)', () => {
    const throttles = broken({
      parseResponse: (request, result, s) =>
        wholeOrNothingPlugin
          .parseResponse(request, result, s)
          .map((o): Outcome => (o.type === 'rejected' ? { ...o, type: 'retry', retryAfterMs: 30_000 } : o)),
    });
    expect(run(throttles)).not.toThrow();
  });
  it("refuse others that are neither 'delivered' nor 'retry'", () => {
    const options = withPartial((request) => ({ ...wholeOrNothingOptions.responses!.partial!(request), others: 'dead' as 'retry' }));
    expectViolation(run(wholeOrNothingPlugin, options), /others must be 'delivered' or 'retry', not "dead"/);
  });
});

function withPartial(partial: NonNullable<ContractResponses['partial']>): DestinationContractOptions {
  return { ...wholeOrNothingOptions, responses: { accepted: ok, partial } };
}

describe('partial-response checks with noted deliveries (only a record that does not decide them refused)', () => {
  const notedOptions: DestinationContractOptions = {
    ...sampleOptions,
    responses: { accepted: ok, partial: refusingSecondAndFirstState },
  };
  const run =
    (plugin: DestinationPlugin<SampleSettings>, options = notedOptions) =>
    () =>
      runCheck(partialResponsesChecks, 'partial answer', plugin, options);

  it('pass a plugin that delivers the noted delivery with a note', () => {
    expect(run(samplePlugin)).not.toThrow();
  });
  it('catch the noted delivery rejected with its refused record', () => {
    const byDelivery = broken({
      parseResponse: (request, result, s) => {
        const outcomes = samplePlugin.parseResponse(request, result, s);
        return outcomes.map((o): Outcome => (o.type === 'delivered' && o.note ? { ...o, type: 'rejected', code: 'x', reason: o.note } : o));
      },
    });
    expectViolation(run(byDelivery), /only a record of delivery-initial_purchase that does not decide it was refused, but it is rejected/);
  });
  it('catch the noted delivery delivered without a note', () => {
    const silent = broken({
      parseResponse: (request, result, s) =>
        samplePlugin
          .parseResponse(request, result, s)
          .map((o): Outcome => (o.type === 'delivered' ? { deliveryId: o.deliveryId, type: 'delivered' } : o)),
    });
    expectViolation(run(silent), /delivery-initial_purchase is delivered without a note/);
  });
  it('refuse noted deliveries that are refused too', () => {
    const options = withPartial((request) => ({ ...refusingSecondAndFirstState(request), noted: [request.deliveryIds[1]] }));
    expectViolation(
      run(samplePlugin, { ...options, responses: { accepted: ok, partial: options.responses!.partial } }),
      /noted must name deliveries/,
    );
  });
});

/** What a check threw: its message and, for a property fast-check found failing, the violation it wraps. */
function thrownText(run: () => void): string {
  try {
    run();
  } catch (error) {
    return `${(error as Error).message}\n${String((error as Error & { cause?: unknown }).cause ?? '')}`;
  }
  throw new Error('the check passed');
}

describe('erasure checks', () => {
  const erasure = samplePlugin.erasure!;
  const withErasure = (overrides: Partial<typeof erasure>) => broken({ erasure: { ...erasure, ...overrides } });

  it('the sample passes every one', () => {
    for (const check of erasureChecks(samplePlugin, sampleOptions)) expect(() => check.run()).not.toThrow();
  });
  it('catch a request for an empty customer', () => {
    const eager = withErasure({
      requests: (subject, s) => [...erasure.requests(subject, s), { method: 'GET', url: 'https://x.invalid', headers: {} }],
    });
    expectViolation(() => runCheck(erasureChecks, 'empty customer', eager), /requests for an empty subject/);
  });
  it('catch requests that differ each time, and a hook that changes the customer', () => {
    let calls = 0;
    const drifting = withErasure({
      requests: (subject, s) => erasure.requests(subject, s).map((r) => ({ ...r, headers: { ...r.headers, 'x-call': String(++calls) } })),
    });
    expectViolation(() => runCheck(erasureChecks, 'the same every time', drifting), /differ when built again/);
    const sorting = withErasure({
      requests: (subject, s) => erasure.requests({ ...subject, appUserIds: (subject.appUserIds as string[]).sort() }, s),
    });
    expect(() => runCheck(erasureChecks, 'the same every time', sorting)).toThrow(TypeError);
  });
  it('catch an identity left out, and an id asked twice', () => {
    const appUsersOnly = withErasure({
      requests: (subject, s) => erasure.requests({ appUserIds: subject.appUserIds.slice(0, 2), identities: [] }, s),
    });
    expectViolation(
      () => runCheck(erasureChecks, 'every app user id', appUsersOnly),
      /app user id "contract-user-2" is not in any erase request/,
    );
    const twice = withErasure({ requests: (subject, s) => [...erasure.requests(subject, s), ...erasure.requests(subject, s)] });
    expectViolation(() => runCheck(erasureChecks, 'every app user id', twice), /is asked to go twice \(user_ids of POST/);
  });
  it('catch requests over the declared limit, and a limit not declared', () => {
    const greedy = withErasure({ maxIdsPerRequest: 2 });
    expectViolation(() => runCheck(erasureChecks, 'maxIdsPerRequest', greedy), /user_ids holds 3 ids, over 2/);
    expectViolation(
      () => runCheck(erasureChecks, 'maxIdsPerRequest', withErasure({ maxIdsPerRequest: undefined })),
      /declare erasure.maxIdsPerRequest/,
    );
  });
  it('catch a secret in a URL, and a complaint about complete settings', () => {
    const leaky = withErasure({
      requests: (subject, s) => erasure.requests(subject, s).map((r) => ({ ...r, url: `${r.url}?key=${s.apiKey}` })),
    });
    expectViolation(() => runCheck(erasureChecks, 'show no secret', leaky), /shows secret "apiKey" verbatim outside its headers/);
    const fussy = withErasure({ missingConfig: () => ['settings.secretKey is not set'] });
    expectViolation(() => runCheck(erasureChecks, 'show no secret', fussy), /complains about the kit settings: settings.secretKey/);
  });
  it('catch a reading that throws on an odd answer, or names a secret', () => {
    const strict = withErasure({
      readAnswer: (_r, result) => {
        if (result.kind === 'response') JSON.parse(result.body);
        return { type: 'done' };
      },
    });
    expect(thrownText(() => runCheck(erasureChecks, 'readAnswer reads any answer', strict))).toMatch(/Property failed/);
    const telling = withErasure({ readAnswer: (_r, _result, s) => ({ type: 'failed', reason: `refused key ${s.apiKey}` }) });
    expect(thrownText(() => runCheck(erasureChecks, 'readAnswer reads any answer', telling))).toMatch(/reason shows secret "apiKey"/);
  });
  it('insist on the kit options when the plugin erases', () => {
    expectViolation(
      () => runCheck(erasureChecks, 'empty customer', samplePlugin, { ...sampleOptions, erasure: undefined }),
      /options.erasure is required/,
    );
  });
});

describe('connection-check checks', () => {
  const check = samplePlugin.connectionCheck!;
  const withCheck = (overrides: Partial<typeof check>) => broken({ connectionCheck: { ...check, ...overrides } });

  it('the sample passes every one', () => {
    for (const c of connectionCheckChecks(samplePlugin, sampleOptions)) expect(() => c.run()).not.toThrow();
  });
  it('catch a secret in the check URL, and a request that differs each time', () => {
    const leaky = withCheck({ request: (s) => ({ method: 'GET', url: `${s.endpoint}/me?key=${s.apiKey}`, headers: {} }) });
    expectViolation(() => runCheck(connectionCheckChecks, 'well formed', leaky), /shows secret "apiKey" verbatim outside its headers/);
    let calls = 0;
    const drifting = withCheck({ request: (s) => ({ ...check.request(s), url: `${s.endpoint}/me?n=${++calls}` }) });
    expectViolation(() => runCheck(connectionCheckChecks, 'well formed', drifting), /differs when built again/);
  });
  it('catch a reading that cannot tell valid credentials from invalid ones', () => {
    const credulous = withCheck({ readAnswer: () => ({ ok: true, reason: 'fine' }) });
    expectViolation(() => runCheck(connectionCheckChecks, 'valid credentials', credulous), /invalid credentials reads ok: true/);
    const telling = withCheck({
      readAnswer: (result, s) => ({ ok: result.kind === 'response' && result.status < 400, reason: `with ${s.apiKey}` }),
    });
    expectViolation(() => runCheck(connectionCheckChecks, 'valid credentials', telling), /reason shows secret "apiKey"/);
  });
  it('catch a network failure read as refused', () => {
    const gloomy = withCheck({
      readAnswer: (result) =>
        result.kind === 'response' ? check.readAnswer(result, sampleOptions.settings as never) : { ok: false, reason: 'down' },
    });
    expect(thrownText(() => runCheck(connectionCheckChecks, 'network failures', gloomy))).toMatch(/reads ok: false, not null/);
  });
});
