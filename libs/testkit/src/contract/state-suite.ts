import {
  sendsState,
  subscriptionStatus,
  type AnyDestinationPlugin,
  type DeliveryRequest,
  type Planned,
  type SubscriptionEvent,
} from '@ferry/core';
import { lifecycleEvents, shuffled, withSimulatedGuard } from '../fixtures';
import type { ContractSubscriptionState, DestinationContractOptions } from './options';
import { buildChecked, deepFreeze, fixtureNames, frozenEvent, kitSettings, stateSettings, violation, type ContractCheck } from './support';

/** Shuffles of the lifecycle the suite replays; fixed, so a failing order can be replayed. */
const SEEDS = [1, 2, 3, 4, 5];

/**
 * A plugin that declares `capabilities.subscriptionState` sends core's status for every event that has one
 * when `carriesState` allows, never when it is false (the ordering guard withheld it), and never for an event
 * without one. Through the simulated guard, a user's story in any order ends in the state it ends in when in order.
 * Its `sendsState` hook tells the engine the truth (settings it says send none carry none: the engine would not
 * guard them), and a record it marks as carrying the state belongs to a delivery that carries it, one per delivery.
 */
export function subscriptionStateChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  const reader = () =>
    options.subscriptionState ??
    violation(
      "capabilities.subscriptionState is declared: give options.subscriptionState (how to turn state on and read it from a request), or skip 'subscription-state' with a reason",
    );
  return [
    {
      title:
        'every fixture carries its status when carriesState is true or unset, none when it is false; one without a status carries none',
      run: () => checkFixtures(plugin, options, reader()),
    },
    {
      title: 'in one batch, each delivery carries state or not by its own carriesState',
      run: () => checkMixedBatch(plugin, options, reader()),
    },
    {
      title: `a user's lifecycle shuffled (seeds ${SEEDS.join(', ')}) through the simulated ordering guard ends in the state it ends in when in order`,
      run: () => checkLifecycle(plugin, options, reader()),
    },
    {
      title: 'on equal timestamps, the later-received event’s state wins, in either order',
      run: () => checkEqualTimestamps(plugin, options, reader()),
    },
    {
      title: 'sendsState says true for the state settings, and settings it says send no state carry none',
      run: () => checkSendsState(plugin, options, reader()),
    },
    {
      title: 'a record marked carriesState belongs to a delivery that carries state, at most one per delivery',
      run: () => checkStateRecords(plugin, options, reader()),
    },
  ];
}

/** The status each delivery carries, by delivery id, checked against the body it is said to come from. */
function carriedBy(requests: readonly DeliveryRequest[], state: ContractSubscriptionState, label: string): Map<string, string> {
  const carried = new Map<string, string>();
  for (const request of requests) {
    for (const [deliveryId, status] of Object.entries(state.carried(request))) {
      if (!request.deliveryIds.includes(deliveryId)) {
        violation(`${label}: options.subscriptionState.carried names delivery ${deliveryId}, which the request does not carry`);
      }
      // The reader must read the body: a status it names that the body does not hold is the reader's invention.
      if (!request.body.includes(JSON.stringify(status))) {
        violation(`${label}: options.subscriptionState.carried says ${deliveryId} carries "${status}", but the body holds no such value`);
      }
      carried.set(deliveryId, status);
    }
  }
  return carried;
}

/** Production fixtures the plugin sends with state on. */
function sentFixtures(plugin: AnyDestinationPlugin, settings: unknown): { name: string; event: SubscriptionEvent }[] {
  return fixtureNames()
    .map((name) => ({ name, event: frozenEvent(name) }))
    .filter(({ event }) => event.environment === 'PRODUCTION' && plugin.filter(event, settings) === undefined);
}

/** The lifecycle events the plugin sends with state on, frozen like every event the kit hands out. */
function sentLifecycle(plugin: AnyDestinationPlugin, settings: unknown): SubscriptionEvent[] {
  return deepFreeze(lifecycleEvents()).filter((event) => plugin.filter(event, settings) === undefined);
}

function checkFixtures(plugin: AnyDestinationPlugin, options: DestinationContractOptions, state: ContractSubscriptionState): void {
  const settings = stateSettings(plugin, options);
  const sent = sentFixtures(plugin, settings);
  if (!sent.some(({ event }) => subscriptionStatus(event) !== undefined)) {
    violation('no fixture with a subscription status passes the filter under the state settings');
  }
  for (const { name, event } of sent) {
    const expected = subscriptionStatus(event);
    for (const carriesState of [true, undefined, false]) {
      const label = `fixture ${name} with carriesState ${String(carriesState)}`;
      const planned: Planned = { deliveryId: 'delivery', event, ...(carriesState !== undefined && { carriesState }) };
      const actual = carriedBy(buildChecked(plugin, [planned], settings, label), state, label).get('delivery');
      const wanted = carriesState === false ? undefined : expected;
      if (actual !== wanted) violation(`${label}: ${describeState(actual)}, expected ${describeState(wanted)}`);
    }
  }
}

function checkMixedBatch(plugin: AnyDestinationPlugin, options: DestinationContractOptions, state: ContractSubscriptionState): void {
  const settings = stateSettings(plugin, options);
  const withStatus = sentFixtures(plugin, settings).filter(({ event }) => subscriptionStatus(event) !== undefined);
  const batch = withStatus
    .slice(0, Math.max(2, plugin.capabilities.batch.maxItems))
    .map(({ name, event }, index): Planned => ({ deliveryId: `${name}-${index}`, event, carriesState: index % 2 === 0 }));
  if (batch.length < 2) violation('fewer than two fixtures with a subscription status pass the filter under the state settings');
  const carried = carriedBy(buildChecked(plugin, batch, settings, 'the mixed batch'), state, 'the mixed batch');
  for (const { deliveryId, event, carriesState } of batch) {
    const wanted = carriesState ? subscriptionStatus(event) : undefined;
    const actual = carried.get(deliveryId);
    if (actual !== wanted) {
      violation(
        `the mixed batch: ${deliveryId} (carriesState ${carriesState}) ${describeState(actual)}, expected ${describeState(wanted)}`,
      );
    }
  }
}

/** The user's state after `events` arrive in this order, each through the simulated guard: the last state carried. */
function finalState(
  plugin: AnyDestinationPlugin,
  settings: unknown,
  state: ContractSubscriptionState,
  events: readonly SubscriptionEvent[],
  label: string,
  asOneBatch: boolean,
): string | undefined {
  const planned = withSimulatedGuard(events).map(({ event, carriesState }, index): Planned => ({
    deliveryId: `d${index}`,
    event,
    carriesState,
  }));
  // One webhook at a time, as they arrive, or all at once, as a backlog drains; body order is arrival order.
  const batches = asOneBatch ? [planned] : planned.map((p) => [p]);
  let last: string | undefined;
  for (const batch of batches) {
    const requests = buildChecked(plugin, batch, settings, label);
    const carried = carriedBy(requests, state, label);
    for (const id of requests.flatMap((request) => request.deliveryIds)) last = carried.get(id) ?? last;
  }
  return last;
}

function checkLifecycle(plugin: AnyDestinationPlugin, options: DestinationContractOptions, state: ContractSubscriptionState): void {
  const settings = stateSettings(plugin, options);
  const events = sentLifecycle(plugin, settings);
  if (events.length < 2) violation('fewer than two lifecycle events pass the filter under the state settings');
  const newest = events.reduce((a, b) => (b.timestampMs >= a.timestampMs ? b : a));
  const expected = subscriptionStatus(newest);
  for (const asOneBatch of [false, true]) {
    const how = asOneBatch ? 'in one batch' : 'one at a time';
    const inOrder = finalState(plugin, settings, state, events, `the lifecycle in order, ${how}`, asOneBatch);
    if (inOrder !== expected)
      violation(`the lifecycle in order, ${how}, ends ${describeState(inOrder)}, expected ${describeState(expected)}`);
    for (const seed of SEEDS) {
      const label = `the lifecycle shuffled with seed ${seed}, ${how}`;
      const actual = finalState(plugin, settings, state, shuffled(events, seed), label, asOneBatch);
      if (actual !== inOrder) violation(`${label}, ends ${describeState(actual)}; in order it ends ${describeState(inOrder)}`);
    }
  }
}

function checkEqualTimestamps(plugin: AnyDestinationPlugin, options: DestinationContractOptions, state: ContractSubscriptionState): void {
  const settings = stateSettings(plugin, options);
  const events = sentLifecycle(plugin, settings);
  const first = events.find((event) => subscriptionStatus(event) !== undefined);
  const second = events.find((event) => ![undefined, subscriptionStatus(first!)].includes(subscriptionStatus(event)));
  if (!first || !second) violation('no two lifecycle events with different statuses pass the filter under the state settings');
  const timestampMs = Math.max(first.timestampMs, second.timestampMs);
  const [a, b] = [first, second].map((event) => deepFreeze({ ...structuredClone(event), timestampMs }));
  for (const asOneBatch of [false, true]) {
    for (const order of [
      [a, b],
      [b, a],
    ]) {
      const label = `${order[0].id} then ${order[1].id}, both at ${timestampMs}, ${asOneBatch ? 'in one batch' : 'one at a time'}`;
      const actual = finalState(plugin, settings, state, order, label, asOneBatch);
      const expected = subscriptionStatus(order[1]);
      if (actual !== expected) violation(`${label}: ends ${describeState(actual)}, expected ${describeState(expected)}`);
    }
  }
}

function describeState(status: string | undefined): string {
  return status === undefined ? 'carries no state' : `carries "${status}"`;
}

function checkSendsState(plugin: AnyDestinationPlugin, options: DestinationContractOptions, state: ContractSubscriptionState): void {
  if (!sendsState(plugin, stateSettings(plugin, options))) {
    violation('sendsState says options.settings with options.subscriptionState.settings send no state: the engine would not guard them');
  }
  const plain = kitSettings(plugin, options).settings;
  if (sendsState(plugin, plain)) return;
  // The engine runs no guard for these settings: a state sent now would be out of order.
  for (const { name, event } of sentFixtures(plugin, plain)) {
    for (const carriesState of [true, undefined]) {
      const label = `fixture ${name} under options.settings (sendsState false), carriesState ${String(carriesState)}`;
      const planned: Planned = { deliveryId: 'delivery', event, ...(carriesState !== undefined && { carriesState }) };
      const actual = carriedBy(buildChecked(plugin, [planned], plain, label), state, label).get('delivery');
      if (actual !== undefined) violation(`${label}: ${describeState(actual)}, expected carries no state`);
    }
  }
}

function checkStateRecords(plugin: AnyDestinationPlugin, options: DestinationContractOptions, state: ContractSubscriptionState): void {
  const settings = stateSettings(plugin, options);
  const batch = sentFixtures(plugin, settings).map(({ name, event }, index): Planned => ({
    deliveryId: `${name}-${index}`,
    event,
    carriesState: index % 2 === 0,
  }));
  for (const [index, request] of buildChecked(plugin, batch, settings, 'the state records').entries()) {
    const carried = carriedBy([request], state, 'the state records');
    const marked = new Map<string, number>();
    for (const record of request.records ?? [])
      if (record.carriesState) marked.set(record.deliveryId, (marked.get(record.deliveryId) ?? 0) + 1);
    for (const deliveryId of marked.keys())
      if (!carried.has(deliveryId))
        violation(`the state records: request ${index} marks a record of ${deliveryId} carriesState, but it carries no state`);
    for (const [deliveryId, count] of marked)
      if (count > 1) violation(`the state records: request ${index} marks ${count} records of ${deliveryId} carriesState`);
  }
}
