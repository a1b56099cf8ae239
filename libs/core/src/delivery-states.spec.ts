import {
  allows,
  COMPLETIONS,
  completionInto,
  DELIVERY_STATES,
  DELIVERY_TRANSITIONS,
  NEW_DELIVERY_STATES,
  stateAfter,
  statesFrom,
  type DeliveryState,
  type DeliveryTransition,
} from './delivery-states';

const transitions = Object.keys(DELIVERY_TRANSITIONS) as DeliveryTransition[];
const FINAL: readonly DeliveryState[] = ['delivered', 'skipped', 'dead'];

/** Every state → state edge the table allows, as `from -transition-> to`. */
function edges(): string[] {
  return transitions.flatMap((transition) => statesFrom(transition).map((from) => `${from} -${transition}-> ${stateAfter(transition)}`));
}

describe('delivery states', () => {
  it('allows exactly these transitions', () => {
    expect(edges()).toEqual([
      'pending -lease-> in_flight',
      'in_flight -takeOver-> in_flight',
      'in_flight -abandon-> dead',
      'paused -probe-> in_flight',
      'in_flight -deliver-> delivered',
      'in_flight -retry-> pending',
      'in_flight -kill-> dead',
      'in_flight -authPause-> paused',
      'in_flight -skip-> skipped',
      'in_flight -release-> pending',
      'pending -pause-> paused',
      'paused -resume-> pending',
      'dead -replay-> pending',
      'skipped -replay-> pending',
      'delivered -replay-> pending',
      'pending -dropOrphan-> skipped',
      'paused -dropOrphan-> skipped',
      'in_flight -dropOrphan-> skipped',
      'pending -reassignOrphan-> pending',
      'paused -reassignOrphan-> pending',
      'in_flight -reassignOrphan-> pending',
      'delivered -expire-> removed',
      'skipped -expire-> removed',
      'dead -expire-> removed',
      ...DELIVERY_STATES.map((state) => `${state} -erase-> removed`),
    ]);
  });

  it('answers, for every transition and state, whether the state may take it', () => {
    for (const transition of transitions) {
      for (const state of DELIVERY_STATES) {
        expect(allows(transition, state)).toBe(statesFrom(transition).some((from) => from === state));
      }
    }
    expect(allows('replay', 'pending')).toBe(false);
    expect(allows('resume', 'in_flight')).toBe(false);
  });

  it('reaches every state from the states ingest plans, and a final state from every state', () => {
    const reachable = new Set<DeliveryState | 'removed'>(NEW_DELIVERY_STATES);
    for (let grown = true; grown;) {
      grown = false;
      for (const transition of transitions) {
        const to = stateAfter(transition);
        if (!reachable.has(to) && statesFrom(transition).some((from) => reachable.has(from))) {
          reachable.add(to);
          grown = true;
        }
      }
    }
    expect([...DELIVERY_STATES].filter((state) => !reachable.has(state))).toEqual([]);

    const reachesFinal = new Set<DeliveryState>(FINAL);
    for (let grown = true; grown;) {
      grown = false;
      for (const transition of transitions) {
        const to: DeliveryState | 'removed' = stateAfter(transition);
        for (const from of statesFrom(transition)) {
          if (to !== 'removed' && reachesFinal.has(to) && !reachesFinal.has(from)) {
            reachesFinal.add(from);
            grown = true;
          }
        }
      }
    }
    expect([...DELIVERY_STATES].filter((state) => !reachesFinal.has(state))).toEqual([]);
  });

  it('leaves a final state only by replay, retention or erasure', () => {
    const leaving = transitions.filter((transition) => statesFrom(transition).some((from) => FINAL.includes(from)));
    expect(leaving).toEqual(['replay', 'expire', 'erase']);
  });

  it('lets retention remove only final deliveries: nothing waiting or in flight', () => {
    expect([...statesFrom('expire')].sort()).toEqual([...FINAL].sort());
  });

  it('completes only deliveries in flight, each completed state reached by exactly one completion', () => {
    for (const completion of COMPLETIONS) {
      expect(statesFrom(completion)).toEqual(['in_flight']);
      expect(completionInto(stateAfter(completion))).toBe(completion);
    }
    expect(new Set(COMPLETIONS.map(stateAfter)).size).toBe(COMPLETIONS.length);
  });
});
