/** What a soak must account for: every event the runner acknowledged ends delivered or visibly dead. */
export interface SoakTally {
  /** Distinct events answered 200 (stored, or duplicate of a copy stored before a crash). */
  readonly accepted: number;
  /** Accepted events with at least one record at CleverTap. */
  readonly delivered: number;
  /** Records beyond the first of their event: at-least-once delivery's repeats after resets and crashes. */
  readonly duplicated: number;
  /** Accepted events whose delivery is dead in the store (final and visible, with its last error). */
  readonly dead: number;
  /** Accepted events neither delivered nor dead, or missing from the store: must be 0. */
  readonly lost: number;
  /** A few lost event ids, to start looking. */
  readonly lostExamples: readonly string[];
}

export interface SoakObservations {
  readonly acceptedIds: Iterable<string>;
  /** The event id of every record at the fake CleverTap, repeats included. */
  readonly recordEventIds: Iterable<string>;
  readonly deadEventIds: Iterable<string>;
  /** Every event id in the store after the run. */
  readonly storedEventIds: Iterable<string>;
}

export function tallySoak(observed: SoakObservations): SoakTally {
  const accepted = new Set(observed.acceptedIds);
  const stored = new Set(observed.storedEventIds);
  const dead = new Set([...observed.deadEventIds].filter((id) => accepted.has(id)));
  const delivered = new Set<string>();
  let duplicated = 0;
  for (const id of observed.recordEventIds) {
    if (delivered.has(id)) duplicated += 1;
    else if (accepted.has(id)) delivered.add(id);
  }
  const lost = [...accepted].filter((id) => !stored.has(id) || (!delivered.has(id) && !dead.has(id)));
  return {
    accepted: accepted.size,
    delivered: delivered.size,
    duplicated,
    dead: dead.size,
    lost: lost.length,
    lostExamples: lost.slice(0, 10),
  };
}
