import type { AnyDestinationPlugin, Environment, EventKind, FieldIssue, Skip, SubscriptionEvent } from '@ferry/core';

/**
 * A destination's route (SPEC §13): which sources feed it, and which of their events it takes. Every field is
 * optional; all given fields must match, and a list matches when any of its elements does.
 */
export interface Route {
  /** The ids of the sources whose events go to the destination; absent: every source. */
  readonly sources?: readonly string[];
  readonly filter?: RouteFilter;
}

export interface RouteFilter {
  readonly environments?: readonly Environment[];
  /** The source's app ids (RevenueCat's `app_id`). */
  readonly apps?: readonly string[];
  readonly stores?: readonly string[];
  /** Product ids, each with `*` wildcards (`com.example.pro.*`). */
  readonly products?: readonly string[];
  /** Matches when the event's entitlements share one. */
  readonly entitlements?: readonly string[];
  readonly kinds?: readonly EventKind[];
}

/** The `rule` of a skip by a destination's route. */
export const ROUTE_RULE = 'route';

/** The filter's fields, in the order they are checked (and their skips name). */
export const ROUTE_FILTER_FIELDS = ['environments', 'apps', 'stores', 'products', 'entitlements', 'kinds'] as const;

type FilterField = (typeof ROUTE_FILTER_FIELDS)[number];

/** What an event holds for each filter field: none, one value, or several (its entitlements). */
const EVENT_VALUES: Readonly<Record<FilterField, (event: SubscriptionEvent) => readonly string[]>> = {
  environments: (event) => [event.environment],
  apps: (event) => (event.appId === null ? [] : [event.appId]),
  stores: (event) => (event.store === null ? [] : [event.store]),
  products: (event) => (event.productId === null ? [] : [event.productId]),
  entitlements: (event) => event.entitlementIds,
  kinds: (event) => (event.kind === null ? [] : [event.kind]),
};

/** One filter field, ready to test: whether a value matches any of the field's elements. */
interface FieldCheck {
  readonly field: FilterField;
  readonly listed: readonly string[];
  readonly matches: (value: string) => boolean;
}

/** A `*` wildcard pattern as a whole-string regular expression; every other character is literal. */
export function wildcardPattern(pattern: string): RegExp {
  const literal = pattern.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`, 's');
}

/** Routes are checked for every event at ingest and again before sending: each is compiled once. */
const compiled = new WeakMap<Route, readonly FieldCheck[]>();

function checksOf(route: Route): readonly FieldCheck[] {
  let checks = compiled.get(route);
  if (checks === undefined) {
    checks = ROUTE_FILTER_FIELDS.flatMap((field): FieldCheck[] => {
      const listed = route.filter?.[field];
      if (listed === undefined) return [];
      if (field === 'products') {
        const patterns = listed.map(wildcardPattern);
        return [{ field, listed, matches: (value) => patterns.some((pattern) => pattern.test(value)) }];
      }
      const allowed = new Set<string>(listed);
      return [{ field, listed, matches: (value) => allowed.has(value) }];
    });
    compiled.set(route, checks);
  }
  return checks;
}

/**
 * Why `route` does not take `event` (rule `route`, a reason naming the field and the values), or undefined
 * when it does. `destinationId` names the destination in a source's refusal.
 */
export function routeSkip(route: Route | undefined, destinationId: string, event: SubscriptionEvent): Skip | undefined {
  if (route === undefined) return undefined;
  if (route.sources !== undefined && !route.sources.includes(event.source)) {
    return { rule: ROUTE_RULE, reason: `source ${event.source} is not routed to ${destinationId}` };
  }
  for (const { field, listed, matches } of checksOf(route)) {
    const values = EVENT_VALUES[field](event);
    if (values.some(matches)) continue;
    return { rule: ROUTE_RULE, reason: `filter.${field}: ${mismatch(field, values, listed)}` };
  }
  return undefined;
}

function mismatch(field: FilterField, values: readonly string[], listed: readonly string[]): string {
  const taken = listed.join(', ');
  if (values.length === 0) return `the event has no ${NOUNS[field]}; the route takes ${taken}`;
  if (values.length === 1) return `${values[0]} is not one of ${taken}`;
  return `none of ${values.join(', ')} is one of ${taken}`;
}

const NOUNS: Readonly<Record<FilterField, string>> = {
  environments: 'environment',
  apps: 'app id',
  stores: 'store',
  products: 'product id',
  entitlements: 'entitlements',
  kinds: 'kind (no destination takes its type)',
};

/**
 * The parts of a route that can never match for this plugin, each naming its path under the destination
 * (`filter.kinds`): a kind the plugin does not take, sandbox events a plugin drops. Warnings, not errors:
 * the route is valid, it only takes less than it says.
 */
export function unreachableRouteParts(route: Route | undefined, plugin: AnyDestinationPlugin): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const filter = route?.filter;
  if (filter === undefined) return issues;
  const { kinds: taken, sandbox } = plugin.capabilities;
  const untaken = (filter.kinds ?? []).filter((kind) => taken[kind] === undefined);
  if (untaken.length > 0) {
    const never = untaken.length === filter.kinds!.length ? ': the route never matches' : '';
    issues.push({
      path: 'filter.kinds',
      message: `${plugin.id} does not take ${untaken.join(', ')}${never} (it takes ${Object.keys(taken).join(', ')})`,
    });
  }
  if (sandbox === 'drop' && filter.environments?.includes('SANDBOX')) {
    const never = filter.environments.every((environment) => environment === 'SANDBOX') ? ': the route never matches' : '';
    issues.push({ path: 'filter.environments', message: `${plugin.id} drops SANDBOX events${never}` });
  }
  return issues;
}
