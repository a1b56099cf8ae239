import {
  MIN_SECRET_LENGTH,
  markedSecrets,
  secretSettingKeys,
  type AnySourcePlugin,
  type Authentication,
  type RequestHeaders,
} from '@ferry/core';
import fc from 'fast-check';
import { findSecret, type KnownSecret } from '../contract/secret-search';
import { namedLikeCredential, schemaPropertyNames } from '../contract/settings-suites';
import { deepFreeze, violation, type ContractCheck } from '../contract/support';
import type { AnySourceContractOptions } from './options';
import {
  REMOVE,
  acceptedEvent,
  cloneJson,
  checkedParse,
  firstDifference,
  parsedExampleSettings,
  placesOf,
  presentedSecrets,
  setPlace,
  settingsSecrets,
  settingsWithoutSecrets,
  withPlace,
} from './support';

type Options = AnySourceContractOptions;

const NOT_OBJECTS: readonly unknown[] = [null, [], 'settings', 42];
/** Planted in bodies: no issue may quote it. */
const MARKER = 'PLANTED-VALUE-7f3a9c';
const DEFAULT_RUNS = 300;
const DEFAULT_SEED = 20261206;

/** fast-check's run parameters: a fixed seed (fast-check prints it with a failure) and a stated number of runs. */
function runs(options: Options): { seed: number; numRuns: number } {
  return { seed: options.seed ?? Number(process.env.PROPERTY_SEED ?? DEFAULT_SEED), numRuns: options.numRuns ?? DEFAULT_RUNS };
}

/** A generated body named for a violation: what it is, and its start as JSON (fast-check prints it poorly). */
const generated = (what: string, body: unknown) => `${what} ${JSON.stringify(body)?.slice(0, 240) ?? 'undefined'}`;

/**
 * The example and the extra valid bodies, each named for a violation. Deep-frozen copies: a parse that
 * changes its input fails where it does so, and cannot spoil the plugin's own example for later checks.
 */
function validBodies(plugin: AnySourcePlugin, options: Options): [label: string, body: unknown][] {
  const bodies: [string, unknown][] = [
    ['exampleWebhook', plugin.exampleWebhook],
    ...(options.validBodies ?? []).map((body, i): [string, unknown] => [`validBodies[${i}]`, body]),
  ];
  return bodies.map(([label, body]) => [label, deepFreeze(cloneJson(body))]);
}

/** The settings validate their example; the secrets are marked where core finds them, and long enough to redact. */
export function settingsChecks(plugin: AnySourcePlugin): ContractCheck[] {
  return [
    {
      title: 'has an id for the config (lower-case kebab-case) and a display name',
      run() {
        if (typeof plugin.id !== 'string' || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(plugin.id)) {
          violation(`id ${JSON.stringify(plugin.id)} must be lower-case kebab-case`);
        }
        if (typeof plugin.displayName !== 'string' || plugin.displayName.trim() === '') violation('displayName must not be empty');
      },
    },
    {
      title: 'accepts the documented example (exampleSettings)',
      run: () => void parsedExampleSettings(plugin),
    },
    {
      title: 'rejects settings that are not an object',
      run() {
        for (const input of NOT_OBJECTS) {
          if (plugin.settings.safeParse(input).success) violation(`accepted ${JSON.stringify(input)} as settings`);
        }
      },
    },
    {
      title: "core finds the settings' secrets where the schema marks them (secretSettingKeys, markedSecrets)",
      run() {
        let keys: string[];
        try {
          keys = secretSettingKeys(plugin.settings);
        } catch (error) {
          return violation(`secretSettingKeys cannot read the settings schema: ${(error as Error).message}`);
        }
        const parsed = parsedExampleSettings(plugin);
        const found = markedSecrets(plugin.settings, parsed).map(({ path }) => String(path[0]));
        const set = keys.filter((key) => (parsed as Record<string, unknown>)[key] !== undefined);
        const unfound = set.filter((key) => !found.includes(key));
        if (unfound.length > 0) violation(`markedSecrets does not find ${unfound.join(', ')}, which exampleSettings set`);
      },
    },
    {
      title: 'settings named like credentials are marked secret()',
      run() {
        const marked = secretSettingKeys(plugin.settings);
        const names = new Set([...Object.keys(plugin.exampleSettings ?? {}), ...schemaPropertyNames(plugin.settings)]);
        const unmarked = [...names].filter((name) => namedLikeCredential(name) && !marked.includes(name));
        if (unmarked.length > 0) violation(`mark ${unmarked.join(', ')} with secret() in the settings schema`);
      },
    },
    {
      title: `every secret of exampleSettings is at least ${MIN_SECRET_LENGTH} characters, so it can be redacted`,
      run() {
        const short = settingsSecrets(plugin, parsedExampleSettings(plugin)).filter(({ value }) => value.length < MIN_SECRET_LENGTH);
        if (short.length > 0) violation(`${short.map(({ key }) => key).join(', ')} must be at least ${MIN_SECRET_LENGTH} characters`);
      },
    },
  ];
}

/** Alters a credential's last character within its class (digit, letter), so its length and alphabet stay the same. */
export function alterLastCharacter(text: string): string {
  const last = text.charCodeAt(text.length - 1);
  const rotate = (first: number, count: number) => String.fromCharCode(first + ((last - first + 1) % count));
  let altered: string;
  if (last >= 48 && last <= 57) altered = rotate(48, 10);
  else if (last >= 97 && last <= 122) altered = rotate(97, 26);
  else if (last >= 65 && last <= 90) altered = rotate(65, 26);
  else altered = 'x';
  return text.slice(0, -1) + altered;
}

/** Wrong credentials built from the right headers: absent, each header left out, emptied, one character off, cut short, extended. */
function wrongHeaders(right: RequestHeaders): [label: string, headers: RequestHeaders][] {
  const cases: [string, RequestHeaders][] = [['no headers at all', {}]];
  for (const [name, value] of Object.entries(right)) {
    if (typeof value !== 'string') continue;
    const others = Object.fromEntries(Object.entries(right).filter(([other]) => other !== name));
    cases.push(
      [`${name} left out`, others],
      [`${name} empty`, { ...others, [name]: '' }],
      [`${name} with its last character changed`, { ...others, [name]: alterLastCharacter(value) }],
      [`${name} without its last character`, { ...others, [name]: value.slice(0, -1) }],
      [`${name} with a character appended`, { ...others, [name]: `${value}x` }],
    );
  }
  return cases;
}

/** A refusal with a reason that quotes neither the expected secret nor what was presented. */
function checkRefusal(answer: Authentication, expected: readonly KnownSecret[], presented: RequestHeaders, label: string): void {
  if (answer?.ok !== false) violation(`the authenticator accepted ${label}`);
  if (typeof answer.reason !== 'string' || answer.reason.trim() === '') violation(`the refusal of ${label} gives no reason`);
  const leak = findSecret(answer.reason, [...expected, ...presentedSecrets(presented)]);
  if (leak) violation(`the refusal of ${label} shows ${leak}: ${answer.reason.length} characters of reason`);
}

function authenticate(authenticator: (headers: RequestHeaders) => Authentication, headers: RequestHeaders, label: string): Authentication {
  try {
    return authenticator(headers);
  } catch (error) {
    return violation(`the authenticator threw on ${label}: ${(error as Error)?.message ?? String(error)}`);
  }
}

/** The request check: the right credential passes, anything else fails without quoting either side. */
export function authenticationChecks(plugin: AnySourcePlugin, options: Options): ContractCheck[] {
  const example = () => parsedExampleSettings(plugin);
  const credentialHeaders = (): RequestHeaders => {
    if (!options.credentialHeaders)
      violation('exampleSettings authenticate: give options.credentialHeaders, the headers that carry the credential');
    return options.credentialHeaders(example());
  };
  const authenticating = () => plugin.authenticates(example());
  return [
    {
      title: 'authenticates says true exactly when the settings hold a marked secret (exampleSettings, and without their secrets)',
      run() {
        const parsed = example();
        const bare = settingsWithoutSecrets(plugin, parsed);
        for (const [label, settings] of [
          ['exampleSettings', parsed],
          ['exampleSettings without their secrets', bare],
        ] as const) {
          if (settings === undefined) continue;
          const holds = markedSecrets(plugin.settings, settings).length > 0;
          if (plugin.authenticates(settings) !== holds) {
            violation(`authenticates(${label}) says ${!holds}, but they hold ${holds ? 'a' : 'no'} marked secret`);
          }
        }
      },
    },
    {
      title: "the example credential's headers pass (options.credentialHeaders)",
      run() {
        if (!authenticating()) return;
        const headers = credentialHeaders();
        for (const name of Object.keys(headers)) {
          if (name !== name.toLowerCase()) violation(`credentialHeaders names ${name}: header names arrive in lower case`);
        }
        const answer = authenticate(plugin.authenticator(example()), headers, "the example credential's headers");
        if (answer?.ok !== true) violation(`the authenticator refused the example credential's headers: ${answer?.reason}`);
      },
    },
    {
      title: 'absent, empty, altered, shortened or extended credentials fail, with a reason that shows neither secret',
      run() {
        if (!authenticating()) return;
        const authenticator = plugin.authenticator(example());
        const expected = settingsSecrets(plugin, example());
        for (const [label, headers] of wrongHeaders(credentialHeaders())) {
          checkRefusal(authenticate(authenticator, headers, label), expected, headers, label);
        }
      },
    },
    {
      title: 'arbitrary headers fail without throwing, with a reason that shows neither secret',
      run() {
        if (!authenticating()) return;
        const authenticator = plugin.authenticator(example());
        const expected = settingsSecrets(plugin, example());
        const names = fc.oneof(fc.constantFrom(...Object.keys(credentialHeaders()), 'authorization', 'x-api-key'), fc.string());
        // Some values carry the marker: a reason quoting what was presented would show it.
        const text = fc.oneof(
          fc.string(),
          fc.string().map((prefix) => `${prefix}${MARKER}`),
        );
        const value = fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.constant(undefined));
        const markerOnly: KnownSecret[] = [{ key: 'the presented header', value: MARKER }];
        fc.assert(
          fc.property(
            fc.dictionary(
              names.map((name) => name.toLowerCase()),
              value,
              { maxKeys: 4 },
            ),
            (headers) => {
              checkRefusal(
                authenticate(authenticator, headers, 'arbitrary headers'),
                [...expected, ...markerOnly],
                {},
                'arbitrary headers',
              );
            },
          ),
          runs(options),
        );
      },
    },
    {
      title: 'without a credential configured, every request passes',
      run() {
        const bare = settingsWithoutSecrets(plugin, example());
        if (bare === undefined) return; // the schema requires a credential
        const authenticator = plugin.authenticator(bare);
        const presented = options.credentialHeaders ? [options.credentialHeaders(example())] : [];
        for (const headers of [{}, ...presented]) {
          const answer = authenticate(authenticator, headers, 'a request to a source without a credential');
          if (answer?.ok !== true) violation(`a source configured without a credential refused a request: ${answer?.reason}`);
        }
      },
    },
  ];
}

/** Bodies with the marker planted at every place of `body`, as a string and inside an object and an array. */
function plantedBodies(body: unknown): [label: string, body: unknown][] {
  return placesOf(body).flatMap((path) => {
    const at = path.join('.') || '(root)';
    return [
      [`the marker string at ${at}`, withPlace(body, path, MARKER)],
      [`an object holding the marker at ${at}`, withPlace(body, path, { planted: MARKER })],
      [`an array holding the marker at ${at}`, withPlace(body, path, [MARKER])],
      [`a long marker string at ${at}`, withPlace(body, path, MARKER.repeat(100))],
    ] as [string, unknown][];
  });
}

const isObject = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value);

function checkQuotesNothing(plugin: AnySourcePlugin, body: unknown, label: string): boolean {
  const result = checkedParse(plugin, body, label);
  if (result.ok) return false;
  const issues = JSON.stringify(result.issues);
  if (issues.includes(MARKER)) violation(`the issues for ${label} quote the body's value: ${issues.slice(0, 300)}`);
  return true;
}

/** What `parse` makes of webhooks: valid events, field-named issues, nothing quoted, nothing changed. */
export function parsingChecks(plugin: AnySourcePlugin, options: Options): ContractCheck[] {
  return [
    ...validBodies(plugin, options).map(([label, body]) => ({
      title: `${label} parses to an event the store can keep`,
      run: () => void acceptedEvent(plugin, body, label),
    })),
    ...(options.invalidBodies ?? []).map((bad) => ({
      title: `refuses a body with ${bad.title}, naming ${bad.paths.join(', ')}`,
      run() {
        const result = checkedParse(plugin, bad.body, bad.title);
        if (result.ok) violation(`parse accepted the body with ${bad.title}`);
        const named = result.issues.map((issue) => issue.path);
        const missing = bad.paths.filter((path) => !named.includes(path));
        if (missing.length > 0) violation(`the issues for ${bad.title} do not name ${missing.join(', ')}; they name ${named.join(', ')}`);
      },
    })),
    {
      title: 'refuses what is not a webhook (null, a list, a string, a number, an empty object), naming a path',
      run() {
        for (const body of [null, [], 'webhook', 42, {}]) {
          if (checkedParse(plugin, body, JSON.stringify(body)).ok) violation(`parse accepted ${JSON.stringify(body)}`);
        }
      },
    },
    {
      title: "issues never quote the body's values (a marker planted at every place of exampleWebhook)",
      run() {
        const refused = plantedBodies(plugin.exampleWebhook).filter(([label, body]) => checkQuotesNothing(plugin, body, label));
        if (refused.length === 0) violation('no planted body was refused: the check saw no issues to search');
      },
    },
    {
      title: 'parse is pure: the same body gives the same answer, and the body is left as it was',
      run() {
        const bodies = [...validBodies(plugin, options), ...plantedBodies(plugin.exampleWebhook).slice(0, 40)];
        for (const [label, body] of bodies) {
          const given = cloneJson(body);
          const first = checkedParse(plugin, given, label);
          const changed = firstDifference(given, body);
          if (changed !== undefined) violation(`parse changed ${label} at ${changed}`);
          const again = checkedParse(plugin, deepFreeze(cloneJson(body)), `${label} (frozen)`);
          const where = firstDifference(again, first);
          if (where !== undefined) violation(`parsing ${label} again answered differently at ${where}`);
        }
      },
    },
  ];
}

/** The example with one place replaced by `value`, or removed. */
function exampleWithOnePlace(example: unknown, value: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const places = placesOf(example);
  return fc
    .tuple(fc.constantFrom(...places), fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: fc.constant(REMOVE) }))
    .map(([path, replacement]) => withPlace(example, path, replacement));
}

/** JSON as a webhook sender could post it, strings of any code units (lone surrogates and U+0000 included). */
const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });

/** `parse` on generated input (fast-check): it never throws, and what it accepts or refuses is well formed. */
export function robustnessChecks(plugin: AnySourcePlugin, options: Options): ContractCheck[] {
  const bodies = validBodies(plugin, options).map(([, body]) => body);
  return [
    {
      title: 'never throws on arbitrary JSON, and answers an event the store can keep or field-named issues',
      run: () =>
        fc.assert(
          fc.property(anyJson, (body) => void checkedParse(plugin, body, generated('arbitrary JSON', body))),
          runs(options),
        ),
    },
    {
      title: 'never throws on a valid body with one place changed or removed, and answers an event or field-named issues',
      run: () =>
        fc.assert(
          fc.property(
            fc.oneof(...bodies.map((body) => exampleWithOnePlace(body, anyJson))),
            (body) => void checkedParse(plugin, body, generated('a valid body with one place changed:', body)),
          ),
          runs(options),
        ),
    },
    {
      title:
        'answers a body nested 100,000 levels deep at or beside any place of exampleWebhook (JSON.parse takes it, JSON.stringify cannot)',
      run() {
        let deep: unknown = [];
        for (let level = 0; level < 100_000; level += 1) deep = [deep];
        const example = plugin.exampleWebhook;
        // Places at most two levels down (deeper ones hold the nesting under the same fields): each replaced,
        // and each object given one more field, which a schema that keeps unknown fields passes on.
        const shallow = placesOf(example).filter((place) => place.length <= 2);
        const objects = shallow.filter((place) =>
          isObject(place.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], example)),
        );
        const cases: [string, readonly (string | number)[]][] = [
          ...shallow.map((path): [string, readonly (string | number)[]] => [path.join('.') || 'the whole body', path]),
          ...objects.map((path): [string, readonly (string | number)[]] => [
            `a new field ${[...path, 'nested'].join('.')}`,
            [...path, 'nested'],
          ]),
        ];
        for (const [what, path] of cases) {
          const body = path.length === 0 ? deep : withPlace(example, path, null);
          if (path.length > 0) setPlace(body, path, deep);
          checkedParse(plugin, body, `exampleWebhook with ${what} nested 100,000 levels deep`);
        }
      },
    },
    {
      title: 'issues never quote a planted value, whatever it replaces',
      run() {
        const planted = anyJson.map((value) => ({ planted: MARKER, value }));
        const marked = fc.oneof(
          fc.constant(MARKER),
          fc.string().map((text) => `${text}${MARKER}${text}`),
          planted,
          fc.array(fc.constant(MARKER)),
        );
        let refused = 0;
        fc.assert(
          fc.property(exampleWithOnePlace(plugin.exampleWebhook, marked), (body) => {
            if (checkQuotesNothing(plugin, body, generated('exampleWebhook with a planted value:', body))) refused += 1;
          }),
          runs(options),
        );
        if (refused === 0) violation('no generated body was refused: the check saw no issues to search');
      },
    },
  ];
}

/** Stored bodies decode to the event `parse` made of them on arrival. */
export function storageChecks(plugin: AnySourcePlugin, options: Options): ContractCheck[] {
  const decodesAsParsed = (generatedBody: unknown, label: string) => {
    // As JSON text carries it: a generated -0 is stored as 0.
    const body = cloneJson(generatedBody);
    const parsed = checkedParse(plugin, body, label);
    if (!parsed.ok) return false;
    let decoded: unknown;
    try {
      decoded = plugin.decodeStored(JSON.stringify(body));
    } catch (error) {
      return violation(`decodeStored threw on ${label} as stored: ${(error as Error)?.message ?? String(error)}`);
    }
    const where = firstDifference(decoded, parsed.value);
    if (where !== undefined) violation(`decodeStored(${label} as stored) differs from parse(${label}).value at ${where}`);
    return true;
  };
  return [
    ...validBodies(plugin, options).map(([label, body]) => ({
      title: `decodeStored(JSON.stringify(${label})) deep-equals parse(${label}).value`,
      run() {
        if (!decodesAsParsed(body, label)) violation(`parse refused ${label}`);
      },
    })),
    {
      title: 'every generated body parse accepts decodes from storage to the same event',
      run() {
        const bodies = validBodies(plugin, options).map(([, body]) => body);
        fc.assert(
          fc.property(fc.oneof(...bodies.map((body) => exampleWithOnePlace(body, anyJson))), (body) => {
            decodesAsParsed(body, generated('a valid body with one place changed:', body));
          }),
          runs(options),
        );
      },
    },
    {
      title: 'decodeStored throws on a stored body that cannot be an event, rather than making one up',
      run() {
        for (const text of ['{}', 'null', '[]', 'not json']) {
          let decoded: unknown;
          try {
            decoded = plugin.decodeStored(text);
          } catch {
            continue;
          }
          violation(`decodeStored(${JSON.stringify(text)}) returned ${JSON.stringify(decoded)?.slice(0, 120)} instead of throwing`);
        }
      },
    },
  ];
}
