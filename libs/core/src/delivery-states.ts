/**
 * A delivery's states and every change between them, in one table. The stores build their WHERE clauses
 * from it and the engine picks the state an outcome leads to from it, so a new state or transition is
 * one entry here.
 */

export const DELIVERY_STATES = ['pending', 'in_flight', 'delivered', 'skipped', 'dead', 'paused'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** The states ingest plans a new delivery in. */
export const NEW_DELIVERY_STATES = ['pending', 'skipped', 'paused'] as const satisfies readonly DeliveryState[];
export type NewDeliveryState = (typeof NEW_DELIVERY_STATES)[number];

interface Transition {
  readonly from: readonly DeliveryState[];
  /** `removed`: the delivery is gone afterwards. */
  readonly to: DeliveryState | 'removed';
}

export const DELIVERY_TRANSITIONS = {
  /** A dispatcher takes a due delivery. */
  lease: { from: ['pending'], to: 'in_flight' },
  /** A dispatcher takes a lease whose holder crashed or stalled past its expiry. */
  takeOver: { from: ['in_flight'], to: 'in_flight' },
  /**
   * A takeover or a release at start finds its holder stopped while sending it for the `MAX_INTERRUPTIONS`th
   * time in a row: likely what stops the runner, so it is set aside, visible and replayable.
   */
  abandon: { from: ['in_flight'], to: 'dead' },
  /** A paused destination sends one waiting delivery to learn whether it works again. */
  probe: { from: ['paused'], to: 'in_flight' },
  /** The destination accepted it. */
  deliver: { from: ['in_flight'], to: 'delivered' },
  /** A failure worth trying again later. */
  retry: { from: ['in_flight'], to: 'pending' },
  /** Rejected by the destination, out of retries, or undecodable: final, kept visible and replayable. */
  kill: { from: ['in_flight'], to: 'dead' },
  /** The destination refused the credentials: the delivery waits with its destination, it never dies. */
  authPause: { from: ['in_flight'], to: 'paused' },
  /** Filtered out at send time (the config changed since ingest). */
  skip: { from: ['in_flight'], to: 'skipped' },
  /** A runner gives its leases back (the embedded runner at start, or one runner's). */
  release: { from: ['in_flight'], to: 'pending' },
  /** The destination pauses: its waiting deliveries wait as paused. */
  pause: { from: ['pending'], to: 'paused' },
  /** The destination resumes: its paused deliveries fall due. */
  resume: { from: ['paused'], to: 'pending' },
  /** The operator sends a finished delivery again. */
  replay: { from: ['dead', 'skipped', 'delivered'], to: 'pending' },
  /**
   * The operator drops the waiting deliveries of a destination no longer configured: final, kept visible
   * as skipped (rule `destination_removed`). In-flight ones only once their lease has expired.
   */
  dropOrphan: { from: ['pending', 'paused', 'in_flight'], to: 'skipped' },
  /** The operator moves the waiting deliveries of a destination no longer configured to a configured one. */
  reassignOrphan: { from: ['pending', 'paused', 'in_flight'], to: 'pending' },
  /**
   * Retention removes an old event with its deliveries once every one is final (dead ones keep it for
   * `retention.deadDays`): nothing waiting or in flight is ever removed.
   */
  expire: { from: ['delivered', 'skipped', 'dead'], to: 'removed' },
  /** A privacy request removes the event with its deliveries, whatever their state. */
  erase: { from: DELIVERY_STATES, to: 'removed' },
} as const satisfies Record<string, Transition>;

export type DeliveryTransition = keyof typeof DELIVERY_TRANSITIONS;
export type StateAfter<T extends DeliveryTransition> = (typeof DELIVERY_TRANSITIONS)[T]['to'];
export type StateBefore<T extends DeliveryTransition> = (typeof DELIVERY_TRANSITIONS)[T]['from'][number];

/** What the engine writes back for a delivery it holds, once it knows how the attempt went. */
export const COMPLETIONS = ['deliver', 'retry', 'kill', 'authPause', 'skip'] as const satisfies readonly DeliveryTransition[];
export type Completion = (typeof COMPLETIONS)[number];
export type CompletedState = StateAfter<Completion>;

/** The states `transition` applies to: a store changes no delivery in any other state. */
export function statesFrom<T extends DeliveryTransition>(transition: T): readonly StateBefore<T>[] {
  return DELIVERY_TRANSITIONS[transition].from;
}

export function stateAfter<T extends DeliveryTransition>(transition: T): StateAfter<T> {
  return DELIVERY_TRANSITIONS[transition].to;
}

export function allows(transition: DeliveryTransition, state: DeliveryState): boolean {
  return (statesFrom(transition) as readonly DeliveryState[]).includes(state);
}

/** The completion that leads to `state`: each completed state is reached by exactly one. */
export function completionInto(state: CompletedState): Completion {
  return COMPLETIONS.find((completion) => stateAfter(completion) === state)!;
}
