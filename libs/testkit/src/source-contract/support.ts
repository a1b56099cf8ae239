import {
  EVENT_KINDS,
  MAX_ID_LENGTH,
  credentialOf,
  formatPath,
  isEpochMs,
  isStorableText,
  markedSecrets,
  secretStrings,
  type AnySourcePlugin,
  type FieldIssue,
  type ParseResult,
  type SubscriptionEvent,
} from '@ferry/core';
import { violation } from '../contract/support';
import type { KnownSecret } from '../contract/secret-search';

/** `exampleSettings` through the plugin's schema, or a violation naming every problem. */
export function parsedExampleSettings(plugin: AnySourcePlugin): unknown {
  const result = plugin.settings.safeParse(plugin.exampleSettings);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`);
    violation(`exampleSettings do not validate: ${problems.join('; ')}`);
  }
  return result.data;
}

/** The marked secrets of parsed settings, as the strings that give each away, named by where it sits. */
export function settingsSecrets(plugin: AnySourcePlugin, parsed: unknown): KnownSecret[] {
  return markedSecrets(plugin.settings, parsed).flatMap((marked) =>
    secretStrings([marked]).map((value) => ({ key: `settings.${formatPath(marked.path)}`, value })),
  );
}

/**
 * `exampleSettings` with every marked secret left out, parsed; undefined when the schema requires one
 * (the source cannot be configured without a credential).
 */
export function settingsWithoutSecrets(plugin: AnySourcePlugin, parsed: unknown): unknown {
  const input = cloneJson(plugin.exampleSettings);
  for (const { path } of markedSecrets(plugin.settings, parsed)) {
    if (path.length === 0) return undefined;
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], input);
    if (parent !== null && typeof parent === 'object') delete (parent as Record<PropertyKey, unknown>)[path[path.length - 1]];
  }
  const result = plugin.settings.safeParse(input);
  return result.success ? result.data : undefined;
}

/** The presented header values a refusal's reason must not quote, each whole and as its credential after a scheme. */
export function presentedSecrets(headers: Readonly<Record<string, unknown>>): KnownSecret[] {
  return Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value])
      .filter((text): text is string => typeof text === 'string')
      .flatMap((text) => [text, credentialOf(text)])
      .filter((text) => text.trim().length >= 8)
      .map((text) => ({ key: `the presented ${name} header`, value: text })),
  );
}

const STRING_OR_NULL: readonly (keyof SubscriptionEvent)[] = [
  'originalAppUserId',
  'appId',
  'store',
  'periodType',
  'productId',
  'newProductId',
  'cancelReason',
  'expirationReason',
  'currency',
  'countryCode',
  'transactionId',
  'originalTransactionId',
  'presentedOfferingId',
];
const NUMBER_OR_NULL: readonly (keyof SubscriptionEvent)[] = [
  'purchasedAtMs',
  'expirationAtMs',
  'gracePeriodExpirationAtMs',
  'priceUsd',
  'priceInPurchasedCurrency',
  'taxPercentage',
  'commissionPercentage',
  'renewalNumber',
];
const STRING_LISTS: readonly (keyof SubscriptionEvent)[] = ['aliases', 'entitlementIds', 'transferredFrom', 'transferredTo'];

/**
 * What makes `event` something the store cannot keep or a destination cannot read: one line per field.
 * The indexed texts (id, type, user id) must be what the store keeps as is: at most `MAX_ID_LENGTH`
 * characters, valid Unicode without U+0000; id and type are never empty.
 */
export function eventProblems(event: SubscriptionEvent, sourceId: string): string[] {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return ['the event is not an object'];
  const problems: string[] = [];
  const fields = event as unknown as Record<string, unknown>;
  const storableText = (key: string, value: unknown, required: boolean) => {
    if (!required && value === null) return;
    if (typeof value !== 'string') return problems.push(`${key} must be a string${required ? '' : ' or null'}`);
    if (required && value === '') return problems.push(`${key} must not be empty`);
    if ([...value].length > MAX_ID_LENGTH) problems.push(`${key} must be at most ${MAX_ID_LENGTH} characters`);
    if (!isStorableText(value)) problems.push(`${key} must be valid Unicode without U+0000`);
  };
  storableText('id', event.id, true);
  storableText('type', event.type, true);
  storableText('appUserId', event.appUserId, false);
  if (event.source !== sourceId) problems.push(`source must be the plugin's id "${sourceId}", not ${JSON.stringify(event.source)}`);
  if (event.kind !== null && !(EVENT_KINDS as readonly unknown[]).includes(event.kind)) {
    problems.push(`kind must be one of ${EVENT_KINDS.join(', ')} or null, not ${JSON.stringify(event.kind)}`);
  }
  if (event.environment !== 'PRODUCTION' && event.environment !== 'SANDBOX') problems.push('environment must be PRODUCTION or SANDBOX');
  if (typeof event.timestampMs !== 'number' || !isEpochMs(event.timestampMs)) {
    problems.push('timestampMs must be whole milliseconds within the range of a date');
  }
  for (const key of NUMBER_OR_NULL) {
    const value = fields[key];
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) problems.push(`${key} must be a finite number or null`);
  }
  for (const key of STRING_OR_NULL) {
    if (fields[key] !== null && typeof fields[key] !== 'string') problems.push(`${key} must be a string or null`);
  }
  for (const key of STRING_LISTS) {
    const value = fields[key];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) problems.push(`${key} must be an array of strings`);
  }
  if (typeof event.isTrialConversion !== 'boolean') problems.push('isTrialConversion must be true or false');
  if (!isPlainObject(event.attributes) || !Object.values(event.attributes).every((value) => typeof value === 'string')) {
    problems.push('attributes must be an object of strings');
  }
  if (!isPlainObject(event.raw)) problems.push('raw must be an object');
  return problems;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * `plugin.parse(body)`, checked: it must not throw and must answer an event that passes `eventProblems`,
 * or non-empty issues, each with a path and a message. `label` names the body in a violation.
 */
export function checkedParse(plugin: AnySourcePlugin, body: unknown, label: string): ParseResult<SubscriptionEvent> {
  let result: ParseResult<SubscriptionEvent>;
  try {
    result = plugin.parse(body);
  } catch (error) {
    return violation(`parse threw on ${label}: ${(error as Error)?.message ?? String(error)}`);
  }
  if (result?.ok === true) {
    const problems = eventProblems(result.value, plugin.id);
    if (problems.length > 0) violation(`parse accepted ${label} as an event the store cannot keep: ${problems.join('; ')}`);
    try {
      JSON.stringify(result.value);
    } catch (error) {
      violation(`parse accepted ${label} as an event that cannot be written out as JSON: ${(error as Error).message}`);
    }
  } else if (result?.ok === false) {
    checkIssues(result.issues, label);
  } else {
    violation(`parse answered ${label} with neither { ok: true, value } nor { ok: false, issues }`);
  }
  return result;
}

function checkIssues(issues: readonly FieldIssue[], label: string): void {
  if (!Array.isArray(issues) || issues.length === 0) violation(`parse refused ${label} without naming any issue`);
  for (const issue of issues) {
    if (typeof issue?.path !== 'string' || issue.path === '') violation(`an issue for ${label} names no path: ${JSON.stringify(issue)}`);
    if (typeof issue.message !== 'string' || issue.message === '') violation(`the issue at ${issue.path} for ${label} has no message`);
  }
}

/** An accepted body's event, or a violation listing the issues. */
export function acceptedEvent(plugin: AnySourcePlugin, body: unknown, label: string): SubscriptionEvent {
  const result = checkedParse(plugin, body, label);
  if (!result.ok) violation(`parse refused ${label}: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  return result.value;
}

/**
 * Where two JSON-like values first differ (`aliases[1]`), or undefined when they are deeply equal. Prototypes
 * are not compared (a value cloned in another realm is still equal), and a key set to undefined equals its absence.
 */
export function firstDifference(actual: unknown, expected: unknown, path: readonly PropertyKey[] = []): string | undefined {
  if (Object.is(actual, expected)) return undefined;
  const at = formatPath(path) || '(root)';
  if (actual === null || expected === null || typeof actual !== 'object' || typeof expected !== 'object') return at;
  if (Array.isArray(actual) !== Array.isArray(expected)) return at;
  if (Array.isArray(actual) && actual.length !== (expected as unknown[]).length) return at;
  for (const key of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
    const inner = firstDifference((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], [
      ...path,
      Array.isArray(actual) ? Number(key) : key,
    ]);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** Every place in a JSON value: the root, each key of each object and each index of each array. */
export function placesOf(value: unknown, path: readonly (string | number)[] = []): (readonly (string | number)[])[] {
  const places: (readonly (string | number)[])[] = [path];
  if (Array.isArray(value)) value.forEach((item, index) => places.push(...placesOf(item, [...path, index])));
  else if (isPlainObject(value)) for (const [key, item] of Object.entries(value)) places.push(...placesOf(item, [...path, key]));
  return places;
}

/** A copy of `value` with the place at `path` set to `replacement`, or removed when `replacement` is `REMOVE`. */
export function withPlace(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const copy = cloneJson(value);
  setPlace(copy, path, replacement);
  return copy;
}

/** Sets (or, with `REMOVE`, removes) the place at `path` of `value` itself: a value too deep to copy goes in this way. */
export function setPlace(value: unknown, path: readonly (string | number)[], replacement: unknown): void {
  type Node = Record<string | number, unknown>;
  const parent = path.slice(0, -1).reduce<Node>((node, key) => node[key] as Node, value as Node);
  const last = path[path.length - 1];
  if (replacement !== REMOVE) parent[last] = replacement;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
}

export const REMOVE: unique symbol = Symbol('remove');

/**
 * A copy of a JSON value, made in this realm: under Jest, `structuredClone` makes objects of another realm,
 * which zod describes differently ("received Object"), so a copy would not parse as the original does.
 */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
