import { revenueCatSource, revenueCatWebhookSchema, toSubscriptionEvent } from '@ferry/revenuecat';
import { issuesFromZod, secret, type SourcePlugin, type SubscriptionEvent } from '@ferry/core';
import { z } from 'zod';
import { record, run } from '../contract/jest-recorder.spec-helper';
import { ContractViolation, type ContractCheck } from '../contract/support';
import { describeSourceContract } from './describe';
import { SOURCE_CONTRACT_SUITES, type AnySourceContractOptions } from './options';
import { sampleSource, sampleSourceHeaders, sampleSourceSettings, type SampleSourceSettings } from './sample-source.spec-helper';
import { alterLastCharacter, authenticationChecks, parsingChecks, robustnessChecks, settingsChecks, storageChecks } from './suites';

// Each check must catch the one rule a broken variant of the sample source breaks.

type Suite = (plugin: SourcePlugin<SampleSourceSettings>, options: AnySourceContractOptions) => ContractCheck[];

const options: AnySourceContractOptions = {
  credentialHeaders: sampleSourceHeaders,
  validBodies: [
    { notification: { uuid: 'n-2', kind: 'TEST', sandbox: true, signedAt: '2026-01-02T03:04:05Z', subject: { account: null } } },
  ],
  numRuns: 100,
};

function runCheck(suite: Suite, title: string, plugin: SourcePlugin<SampleSourceSettings>, given = options): void {
  const found = suite(plugin, given).find((check) => check.title.includes(title));
  if (!found) throw new Error(`no check titled "${title}"`);
  found.run();
}

function expectViolation(run: () => void, message: RegExp): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  // fast-check wraps a property's violation; its message carries the violation's.
  expect(thrown).toBeInstanceOf(Error);
  expect(thrown instanceof ContractViolation || /Property failed/.test((thrown as Error).message)).toBe(true);
  expect(`${(thrown as Error).message}\n${String((thrown as Error & { cause?: unknown }).cause ?? '')}`).toMatch(message);
}

const broken = (overrides: Partial<SourcePlugin<SampleSourceSettings>>): SourcePlugin<SampleSourceSettings> => ({
  ...sampleSource,
  ...overrides,
});
const TOKEN = sampleSource.exampleSettings.webhookToken;
const parsedBy = (plugin: SourcePlugin<SampleSourceSettings>, body: unknown): SubscriptionEvent => {
  const result = plugin.parse(body);
  if (!result.ok) throw new Error('the sample refused its own body');
  return result.value;
};
/** The sample's parse, with its accepted event changed by `change`. */
const acceptingAs = (change: (event: SubscriptionEvent) => SubscriptionEvent) =>
  broken({
    parse(body) {
      const result = sampleSource.parse(body);
      return result.ok ? { ok: true, value: change(result.value) } : result;
    },
  });

describe('the sample source passes every check', () => {
  it.each([
    ['settings', settingsChecks],
    ['authentication', authenticationChecks],
    ['parsing', parsingChecks],
    ['robustness', robustnessChecks],
    ['storage', storageChecks],
  ] as const)('%s', (_name, suite) => {
    for (const check of suite(sampleSource, options)) expect(() => check.run()).not.toThrow();
  });
});

describe('settings checks', () => {
  it('catch an id the config cannot name', () => {
    expectViolation(
      () => runCheck(settingsChecks, 'has an id', broken({ id: 'Sample Source' })),
      /id "Sample Source" must be lower-case kebab-case/,
    );
  });
  it('catch an example the schema refuses', () => {
    expectViolation(
      () => runCheck(settingsChecks, 'documented example', broken({ exampleSettings: { webhookToken: 'short' } })),
      /exampleSettings do not validate: webhookToken/,
    );
  });
  it('catch a schema that takes anything', () => {
    expectViolation(
      () => runCheck(settingsChecks, 'not an object', broken({ settings: z.any() as unknown as typeof sampleSourceSettings })),
      /accepted null/,
    );
  });
  it('catch a schema core cannot read the secrets of', () => {
    const union = z.union([sampleSourceSettings, z.strictObject({ other: z.string() })]) as unknown as typeof sampleSourceSettings;
    expectViolation(
      () => runCheck(settingsChecks, 'core finds', broken({ settings: union })),
      /secretSettingKeys cannot read the settings schema/,
    );
  });
  it('catch a credential left unmarked', () => {
    const unmarked = z.strictObject({ webhookToken: z.string().min(8) });
    expectViolation(
      () => runCheck(settingsChecks, 'named like credentials', broken({ settings: unmarked })),
      /mark webhookToken with secret\(\)/,
    );
  });
  it('catch an example secret too short to redact', () => {
    const lax = z.strictObject({ webhookToken: secret(z.string()) });
    expectViolation(
      () => runCheck(settingsChecks, 'at least 8 characters', broken({ settings: lax, exampleSettings: { webhookToken: 'tok' } })),
      /settings\.webhookToken must be at least 8 characters/,
    );
  });
});

describe('authentication checks', () => {
  it('catch authenticates denying a credential the settings hold', () => {
    expectViolation(
      () => runCheck(authenticationChecks, 'authenticates says true', broken({ authenticates: () => false })),
      /authenticates\(exampleSettings\) says false, but they hold a marked secret/,
    );
  });
  it('catch a missing credentialHeaders option, and header names not in lower case', () => {
    expectViolation(() => runCheck(authenticationChecks, 'headers pass', sampleSource, {}), /give options\.credentialHeaders/);
    const upper = { ...options, credentialHeaders: () => ({ 'X-Sample-Token': TOKEN }) };
    expectViolation(() => runCheck(authenticationChecks, 'headers pass', sampleSource, upper), /credentialHeaders names X-Sample-Token/);
  });
  it('catch an authenticator that refuses the right credential', () => {
    const refusing = broken({ authenticator: () => () => ({ ok: false, reason: 'no' }) });
    expectViolation(() => runCheck(authenticationChecks, 'headers pass', refusing), /refused the example credential's headers: no/);
  });
  it('catch an authenticator that lets anything in', () => {
    const open = broken({ authenticator: () => () => ({ ok: true }) });
    expectViolation(() => runCheck(authenticationChecks, 'absent, empty', open), /accepted no headers at all/);
  });
  it('catch a comparison that accepts a credential with more after it', () => {
    const prefix = broken({
      authenticator: (settings) => (headers) =>
        String(headers['x-sample-token'] ?? '').startsWith(settings.webhookToken) ? { ok: true } : { ok: false, reason: 'wrong token' },
    });
    expectViolation(() => runCheck(authenticationChecks, 'absent, empty', prefix), /accepted x-sample-token with a character appended/);
  });
  it('catch a reason that quotes the expected or the presented credential', () => {
    const quotesExpected = broken({ authenticator: (settings) => () => ({ ok: false, reason: `expected ${settings.webhookToken}` }) });
    expectViolation(
      () => runCheck(authenticationChecks, 'absent, empty', quotesExpected),
      /refusal of no headers at all shows secret "settings\.webhookToken" verbatim/,
    );
    const quotesPresented = broken({
      authenticator: (settings) => (headers) =>
        headers['x-sample-token'] === settings.webhookToken
          ? { ok: true }
          : { ok: false, reason: `got ${String(headers['x-sample-token'])}` },
    });
    expectViolation(
      () => runCheck(authenticationChecks, 'absent, empty', quotesPresented),
      /shows secret "the presented x-sample-token header" verbatim/,
    );
  });
  it('catch an authenticator that throws on headers it did not expect, or quotes them', () => {
    const throwing = broken({
      authenticator: (settings) => (headers) => {
        const presented = headers['x-sample-token'];
        if (presented !== undefined && typeof presented !== 'string') throw new TypeError('not a string');
        return presented === settings.webhookToken ? { ok: true } : { ok: false, reason: 'wrong token' };
      },
    });
    expectViolation(
      () => runCheck(authenticationChecks, 'arbitrary headers', throwing),
      /authenticator threw on arbitrary headers: not a string/,
    );
    const echoing = broken({ authenticator: () => (headers) => ({ ok: false, reason: `headers: ${JSON.stringify(headers)}` }) });
    expectViolation(() => runCheck(authenticationChecks, 'arbitrary headers', echoing), /shows secret "the presented header" verbatim/);
  });
  it('catch a source without a credential configured that refuses requests', () => {
    const strict: SourcePlugin<{ authorization?: string }> = {
      ...revenueCatSource,
      authenticator: (settings) => revenueCatSource.authenticator({ authorization: settings.authorization ?? 'Bearer never-matches-0000' }),
    };
    const found = authenticationChecks(strict, { credentialHeaders: () => ({}) }).find((check) =>
      check.title.includes('without a credential'),
    );
    expectViolation(() => found!.run(), /a source configured without a credential refused a request/);
  });
  it('alter a credential within its alphabet and length', () => {
    expect(['abc9', 'abcz', 'ABCZ', 'abc-', 'abc1'].map(alterLastCharacter)).toEqual(['abc0', 'abca', 'ABCA', 'abcx', 'abc2']);
  });
});

describe('parsing checks', () => {
  it('catch an example webhook the source refuses', () => {
    const example = { notification: { uuid: 'n-1' } };
    expectViolation(
      () => runCheck(parsingChecks, 'exampleWebhook parses', broken({ exampleWebhook: example })),
      /parse refused exampleWebhook: notification\.kind: required/,
    );
  });
  it.each([
    ['an empty id', (event: SubscriptionEvent) => ({ ...event, id: '' }), /id must not be empty/],
    [
      'an id longer than the store keeps',
      (event: SubscriptionEvent) => ({ ...event, id: 'x'.repeat(513) }),
      /id must be at most 512 characters/,
    ],
    ['an id with U+0000', (event: SubscriptionEvent) => ({ ...event, id: 'a\u0000b' }), /id must be valid Unicode without U\+0000/],
    [
      'a kind no destination knows',
      (event: SubscriptionEvent) => ({ ...event, kind: 'purchase' }) as unknown as SubscriptionEvent,
      /kind must be one of/,
    ],
    ['another source id', (event: SubscriptionEvent) => ({ ...event, source: 'other' }), /source must be the plugin's id "sample-source"/],
    ['a fractional timestamp', (event: SubscriptionEvent) => ({ ...event, timestampMs: 1.5 }), /timestampMs must be whole milliseconds/],
    ['an infinite price', (event: SubscriptionEvent) => ({ ...event, priceUsd: Infinity }), /priceUsd must be a finite number or null/],
    [
      'aliases that are not an array',
      (event: SubscriptionEvent) => ({ ...event, aliases: 'a' }) as unknown as SubscriptionEvent,
      /aliases must be an array of strings/,
    ],
    [
      'an environment of its own',
      (event: SubscriptionEvent) => ({ ...event, environment: 'STAGING' }) as unknown as SubscriptionEvent,
      /environment must be PRODUCTION or SANDBOX/,
    ],
  ])('catch an accepted event with %s', (_what, change, message) => {
    expectViolation(() => runCheck(parsingChecks, 'exampleWebhook parses', acceptingAs(change)), message);
  });
  it('catch a parse that throws instead of answering', () => {
    const throwing = broken({ parse: (body) => (body === null ? (null as unknown as never)['x'] : sampleSource.parse(body)) });
    expectViolation(() => runCheck(parsingChecks, 'not a webhook', throwing), /parse threw on null/);
  });
  it('catch a refusal without issues, or with an issue naming no path', () => {
    expectViolation(
      () => runCheck(parsingChecks, 'not a webhook', broken({ parse: () => ({ ok: false, issues: [] }) })),
      /without naming any issue/,
    );
    const pathless = broken({ parse: () => ({ ok: false, issues: [{ path: '', message: 'bad' }] }) });
    expectViolation(() => runCheck(parsingChecks, 'not a webhook', pathless), /names no path/);
  });
  it('catch a source that accepts an empty object', () => {
    const lenient = broken({
      parse: (body) => (JSON.stringify(body) === '{}' ? sampleSource.parse(sampleSource.exampleWebhook) : sampleSource.parse(body)),
    });
    expectViolation(() => runCheck(parsingChecks, 'not a webhook', lenient), /parse accepted \{\}/);
  });
  it("catch issues that quote the body's values", () => {
    const quoting = broken({
      parse(body) {
        const result = sampleSource.parse(body);
        const uuid = (body as { notification?: { uuid?: unknown } })?.notification?.uuid;
        return result.ok
          ? result
          : { ok: false, issues: result.issues.map((issue) => ({ ...issue, message: `${issue.message} (${JSON.stringify(uuid)})` })) };
      },
    });
    expectViolation(
      () => runCheck(parsingChecks, 'marker planted', quoting),
      /the issues for .* at notification\.uuid quote the body's value/,
    );
  });
  it('catch a body case the source accepts, or refuses at other paths', () => {
    const cases = (paths: string[], body: unknown) => ({ ...options, invalidBodies: [{ title: 'a bad body', body, paths }] });
    expectViolation(
      () => runCheck(parsingChecks, 'a bad body', sampleSource, cases(['x'], sampleSource.exampleWebhook)),
      /parse accepted the body with a bad body/,
    );
    expectViolation(
      () => runCheck(parsingChecks, 'a bad body', sampleSource, cases(['notification.uuid'], { notification: { uuid: 'n' } })),
      /do not name notification\.uuid; they name notification\.kind/,
    );
  });
  it('catch a parse that changes its input, or answers differently the second time', () => {
    const mutating = broken({
      parse(body) {
        const result = sampleSource.parse(body);
        if (result.ok) delete (body as { notification: { subject?: unknown } }).notification.subject;
        return result;
      },
    });
    expectViolation(() => runCheck(parsingChecks, 'parse is pure', mutating), /parse changed exampleWebhook at notification\.subject/);
    let calls = 0;
    const counting = acceptingAs((event) => ({ ...event, attributes: { call: String((calls += 1)) } }));
    expectViolation(
      () => runCheck(parsingChecks, 'parse is pure', counting),
      /parsing exampleWebhook again answered differently at value\.attributes\.call/,
    );
  });
});

describe('robustness checks', () => {
  it('catch a parse that throws on JSON of a shape it did not expect', () => {
    const careless = broken({
      parse: (body) =>
        (body as { notification: { uuid: string } }).notification.uuid.length > 0 ? sampleSource.parse(body) : sampleSource.parse(body),
    });
    expectViolation(() => runCheck(robustnessChecks, 'arbitrary JSON', careless), /parse threw on arbitrary JSON/);
  });
  it('catch an accepted body the store cannot keep, found by changing one place of a valid body', () => {
    // Takes any notification object, and a uuid that is not a string as an empty id.
    const lenient = broken({
      parse(body) {
        const notification = (body as { notification?: { uuid?: unknown } } | null)?.notification;
        if (notification === null || typeof notification !== 'object')
          return { ok: false, issues: [{ path: 'notification', message: 'required' }] };
        const example = parsedBy(sampleSource, sampleSource.exampleWebhook);
        return { ok: true, value: { ...example, id: typeof notification.uuid === 'string' ? notification.uuid : '' } };
      },
    });
    expectViolation(() => runCheck(robustnessChecks, 'one place changed', lenient), /as an event the store cannot keep: id must/);
  });
  it('catch an accepted event that keeps a body nested too deep to write out', () => {
    // RevenueCat's parse without its nesting check: its schema keeps unknown fields, so raw holds the nesting.
    const unguarded: typeof revenueCatSource = {
      ...revenueCatSource,
      parse(body) {
        const result = revenueCatWebhookSchema.safeParse(body);
        return result.success
          ? { ok: true, value: toSubscriptionEvent(result.data) }
          : { ok: false, issues: issuesFromZod(result.error.issues) };
      },
    };
    const found = robustnessChecks(unguarded, {}).find((check) => check.title.includes('100,000 levels deep'));
    expectViolation(() => found!.run(), /nested 100,000 levels deep as an event that cannot be written out as JSON/);
    expect(() =>
      robustnessChecks(revenueCatSource, {})
        .find((check) => check.title.includes('100,000 levels deep'))!
        .run(),
    ).not.toThrow();
  });
  it('catch issues that quote a planted value', () => {
    const quoting = broken({
      parse: (body) => {
        const result = sampleSource.parse(body);
        return result.ok ? result : { ok: false, issues: [{ path: '(root)', message: JSON.stringify(body) }] };
      },
    });
    expectViolation(() => runCheck(robustnessChecks, 'planted value', quoting), /quote the body's value/);
  });
});

describe('storage checks', () => {
  it('catch decodeStored making another event than parse', () => {
    const forgetful = broken({ decodeStored: (body) => ({ ...sampleSource.decodeStored(body), environment: 'PRODUCTION' }) });
    expectViolation(
      () => runCheck(storageChecks, 'validBodies[0]', forgetful),
      /differs from parse\(validBodies\[0\]\)\.value at environment/,
    );
  });
  it('catch decodeStored throwing on what parse accepted', () => {
    const picky = broken({
      decodeStored: (body) => {
        if (body.includes('TEST')) throw new Error('unknown kind');
        return sampleSource.decodeStored(body);
      },
    });
    expectViolation(
      () => runCheck(storageChecks, 'validBodies[0]', picky),
      /decodeStored threw on validBodies\[0\] as stored: unknown kind/,
    );
  });
  it('catch decodeStored making up an event from a body that holds none', () => {
    const inventive = broken({
      decodeStored: (body) => (body === '{}' ? parsedBy(sampleSource, sampleSource.exampleWebhook) : sampleSource.decodeStored(body)),
    });
    expectViolation(
      () => runCheck(storageChecks, 'rather than making one up', inventive),
      /decodeStored\("\{\}"\) returned .* instead of throwing/,
    );
  });
  it('catch a decodeStored that differs only for generated bodies', () => {
    // RevenueCat's schema takes most changes to one place of its example, so the property meets many accepted bodies.
    const exampleText = JSON.stringify(revenueCatSource.exampleWebhook);
    const partial: typeof revenueCatSource = {
      ...revenueCatSource,
      decodeStored: (body) => ({ ...revenueCatSource.decodeStored(body), ...(body === exampleText ? {} : { type: 'MADE_UP' }) }),
    };
    const generatedCheck = storageChecks(partial, { numRuns: 100 }).find((check) => check.title.includes('every generated body'));
    expectViolation(() => generatedCheck!.run(), /\.value at type/);
    const exampleCheck = storageChecks(partial, {}).find((check) => check.title.includes('(exampleWebhook)'));
    expect(() => exampleCheck!.run()).not.toThrow();
  });
});

describe('describeSourceContract', () => {
  it('registers one block per suite, in order, under the plugin id, and every test passes for the sample', () => {
    const [contract] = record(() => describeSourceContract(sampleSource, options)).blocks;
    expect(contract.title).toBe('sample-source source contract');
    expect(contract.blocks.map((block) => block.title)).toEqual([...SOURCE_CONTRACT_SUITES]);
    const results = run(contract);
    expect(results.filter((result) => result.status !== 'passed')).toEqual([]);
  });

  it('fails the test during which the plugin reached for the network', () => {
    const chatty = broken({
      parse(body) {
        // Fire and forget, error swallowed: only the guard can notice. Loopback, so nothing leaves the machine.
        fetch('http://127.0.0.1:9/collect').catch(() => undefined);
        return sampleSource.parse(body);
      },
    });
    const [contract] = record(() => describeSourceContract(chatty, options)).blocks;
    const failed = run(contract).filter((result) => result.status === 'failed');
    expect(failed.map((result) => result.title)).toContain('parsing › exampleWebhook parses to an event the store can keep');
    for (const result of failed)
      expect(result.error).toMatch(/^the plugin reached for the network: fetch http:\/\/127\.0\.0\.1:9\/collect/);
  });
});
