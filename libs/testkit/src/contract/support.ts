import {
  bodyRecords,
  formatPath,
  stringLeaves,
  type AnyDestinationPlugin,
  type DeliveryRequest,
  type Outcome,
  type Planned,
  type RequestContext,
  type SubscriptionEvent,
} from '@ferry/core';
import { fixtureEvent, fixtures, type FixtureName } from '../fixtures';
import type { DestinationContractOptions } from './options';
import type { KnownSecret } from './secret-search';

/** One standard test: a title and a body that throws when the plugin breaks the contract. */
export interface ContractCheck {
  readonly title: string;
  run(): void;
}

/** A contract violation, worded for the plugin's author. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
}

export function violation(message: string): never {
  throw new ContractViolation(message);
}

export function formatIssues(issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[]): string {
  return issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`).join('; ');
}

/** Settings through the plugin's schema, or a violation naming every problem. */
export function parseSettings(plugin: AnyDestinationPlugin, input: unknown, label: string): unknown {
  const result = plugin.settings.safeParse(input);
  if (!result.success) violation(`${label} do not validate: ${formatIssues(result.error.issues)}`);
  return result.data;
}

/** The kit's settings, parsed: `settings`, and `sandboxSettings` when given. */
export interface KitSettings {
  readonly settings: unknown;
  readonly sandboxSettings: unknown;
}

export function kitSettings(plugin: AnyDestinationPlugin, options: { settings: unknown; sandboxSettings?: unknown }): KitSettings {
  return {
    settings: parseSettings(plugin, options.settings, 'options.settings'),
    sandboxSettings:
      options.sandboxSettings === undefined ? undefined : parseSettings(plugin, options.sandboxSettings, 'options.sandboxSettings'),
  };
}

/** `settings` with the plugin's subscription state turned on (`options.subscriptionState.settings` laid over it). */
export function stateSettings(plugin: AnyDestinationPlugin, options: DestinationContractOptions): unknown {
  const { settings, subscriptionState } = options;
  return parseSettings(plugin, { ...settings, ...subscriptionState?.settings }, 'options.settings with options.subscriptionState.settings');
}

/**
 * The settings the request and response suites build under: `options.settings`, and, when turning state on
 * changes them, the state settings too (a delivery may then have several body records).
 */
export function buildSettings(plugin: AnyDestinationPlugin, options: DestinationContractOptions): [label: string, settings: unknown][] {
  const all: [string, unknown][] = [['options.settings', kitSettings(plugin, options).settings]];
  if (Object.keys(options.subscriptionState?.settings ?? {}).length > 0) {
    all.push(['options.settings with options.subscriptionState.settings', stateSettings(plugin, options)]);
  }
  return all;
}

/** The secret values the kit's settings set, by key: each string of a secret that is an object of credentials too. */
export function knownSecrets(plugin: AnyDestinationPlugin, settings: KitSettings): KnownSecret[] {
  const found = new Map<string, KnownSecret>();
  for (const source of [settings.settings, settings.sandboxSettings]) {
    for (const key of plugin.secrets) {
      for (const value of stringLeaves((source as Record<string, unknown> | undefined)?.[key]))
        found.set(`${key}=${value}`, { key, value });
    }
  }
  return [...found.values()];
}

export function fixtureNames(): FixtureName[] {
  return fixtures.map((f) => f.name);
}

const frozenEvents = new Map<FixtureName, SubscriptionEvent>();

/** A fixture's event, deep-frozen (so shared safely): a hook that mutates its input fails loudly. */
export function frozenEvent(name: FixtureName): SubscriptionEvent {
  let event = frozenEvents.get(name);
  if (!event) frozenEvents.set(name, (event = deepFreeze(structuredClone(fixtureEvent(name)))));
  return event;
}

/** The first fixture whose event satisfies `test`, or a violation saying the library lacks one. */
export function findFixture(what: string, test: (event: SubscriptionEvent) => boolean): FixtureName {
  const name = fixtureNames().find((candidate) => test(frozenEvent(candidate)));
  return name ?? violation(`the shared fixture library has no ${what}`);
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Names of production fixtures the plugin sends under `settings`. */
export function deliverableFixtures(plugin: AnyDestinationPlugin, settings: unknown): FixtureName[] {
  return fixtureNames().filter((name) => {
    const event = frozenEvent(name);
    return event.environment === 'PRODUCTION' && plugin.filter(event, settings) === undefined;
  });
}

/**
 * The moment the kit builds every request at: fixed, so a plugin whose requests depend on the time of sending
 * (a signature's timestamp) still gives byte-identical requests for the same input.
 */
export const KIT_REQUEST_CONTEXT: RequestContext = Object.freeze({ nowMs: Date.UTC(2025, 2, 1, 12, 0, 0) });

/**
 * Builds requests for `batch` and checks their shape and the id invariant: every delivery of the
 * batch is carried by exactly one request, and no request carries anything else.
 */
export function buildChecked(plugin: AnyDestinationPlugin, batch: readonly Planned[], settings: unknown, label: string): DeliveryRequest[] {
  const requests = plugin.buildRequests(batch, settings, KIT_REQUEST_CONTEXT);
  if (!Array.isArray(requests) || requests.length === 0) violation(`${label}: buildRequests returned no requests`);
  requests.forEach((request, index) => checkRequestShape(request, `${label}: request ${index}`));
  checkExactlyOnce(
    batch.map((p) => p.deliveryId),
    requests.flatMap((r) => r.deliveryIds),
    `${label}: the requests' deliveryIds`,
  );
  return requests;
}

function checkRequestShape(request: DeliveryRequest, label: string): void {
  if (request.method !== 'POST' && request.method !== 'PUT') violation(`${label}: method must be POST or PUT`);
  let url: URL | undefined;
  try {
    url = new URL(request.url);
  } catch {
    violation(`${label}: url is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') violation(`${label}: url must be http(s)`);
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (typeof value !== 'string') violation(`${label}: header ${name} is not a string`);
  }
  if (typeof request.body !== 'string') violation(`${label}: body must be a string`);
  if (!Array.isArray(request.deliveryIds) || request.deliveryIds.length === 0) violation(`${label}: carries no deliveryIds`);
  if (typeof request.concurrencyKey !== 'string' || request.concurrencyKey === '') violation(`${label}: concurrencyKey is empty`);
  if (request.warnings !== undefined && !request.warnings.every((w) => typeof w === 'string')) {
    violation(`${label}: warnings must be strings`);
  }
  checkRecords(request, label);
}

/** Each delivery of the request has exactly one record deciding its outcome, and every record belongs to one of them. */
function checkRecords(request: DeliveryRequest, label: string): void {
  if (request.records === undefined) return;
  if (!Array.isArray(request.records)) violation(`${label}: records must be an array when given`);
  for (const [index, record] of request.records.entries()) {
    const at = `${label}: record ${index}`;
    if (typeof record?.part !== 'string' || record.part === '') violation(`${at}: part must be a non-empty string`);
    if (typeof record.decides !== 'boolean') violation(`${at}: decides must be true or false`);
    if (!request.deliveryIds.includes(record.deliveryId)) {
      violation(`${at} names delivery ${JSON.stringify(record.deliveryId)}, which the request does not carry`);
    }
  }
  checkExactlyOnce(
    request.deliveryIds,
    bodyRecords(request)
      .filter((record) => record.decides)
      .map((record) => record.deliveryId),
    `${label}: the deciding records`,
  );
}

/** `actual` holds each of `expected` exactly once and nothing else. */
export function checkExactlyOnce(expected: readonly string[], actual: readonly string[], label: string): void {
  const counts = new Map<string, number>();
  for (const id of actual) counts.set(id, (counts.get(id) ?? 0) + 1);
  const missing = expected.filter((id) => !counts.has(id));
  const repeated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const unknown = [...counts.keys()].filter((id) => !expected.includes(id));
  if (missing.length + repeated.length + unknown.length > 0) {
    violation(`${label} must hold each delivery exactly once: ${describeIds({ missing, repeated, unknown })}`);
  }
}

function describeIds(groups: Record<string, string[]>): string {
  return Object.entries(groups)
    .filter(([, ids]) => ids.length > 0)
    .map(([group, ids]) => `${group} ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` (+${ids.length - 5})` : ''}`)
    .join('; ');
}

/** Checks an outcome list: one per delivery of `request`, each well formed. */
export function checkOutcomes(request: DeliveryRequest, outcomes: readonly Outcome[], label: string): void {
  if (!Array.isArray(outcomes)) violation(`${label}: parseResponse must return an array`);
  checkExactlyOnce(
    request.deliveryIds,
    outcomes.map((o) => o.deliveryId),
    `${label}: the outcomes`,
  );
  for (const outcome of outcomes) {
    const at = `${label}: outcome of ${outcome.deliveryId}`;
    if (!['delivered', 'retry', 'rejected', 'auth_failed'].includes(outcome.type)) {
      violation(`${at}: unknown type ${JSON.stringify(outcome.type)}`);
    }
    if (outcome.type !== 'delivered' && (typeof outcome.reason !== 'string' || outcome.reason === '')) {
      violation(`${at}: ${outcome.type} needs a reason`);
    }
    if (outcome.type === 'rejected' && !outcome.code) violation(`${at}: rejected needs a code`);
    if (outcome.type === 'retry' && outcome.retryAfterMs !== undefined && !(outcome.retryAfterMs >= 0)) {
      violation(`${at}: retryAfterMs must be a number ≥ 0`);
    }
  }
}
