import type { Clock, ErasureJobs, EventLog, Maintenance, SourceInstance, StateMarks, StoredPauses, Transport } from '@ferry/core';
import type { DestinationInstance, DestinationStatus } from '@ferry/engine';

/** What the admin operations need, as one object: every concern takes it whole. */
export interface AdminDeps {
  readonly destinations: readonly DestinationInstance[];
  /**
   * The configured sources, the first the default: they parse the webhooks to preview, and stored ones (by the
   * source they came through) to rebuild their requests. Absent for the API document alone.
   */
  readonly sources?: readonly SourceInstance[];
  /**
   * Webhooks this runner answered `duplicate` or refused, per source id, since it started; absent where no
   * webhooks are taken (the command line).
   */
  readonly webhookCounts?: () => ReadonlyMap<string, { readonly duplicate: number; readonly rejected: number }>;
  /** The store's ports the operations use; absent for commands that need none (preview). */
  readonly log?: EventLog;
  readonly maintenance?: Maintenance;
  readonly pauses?: StoredPauses;
  /** The ordering guard's marks: what the customer view shows each destination holds (SPEC §17). */
  readonly marks?: StateMarks;
  /** Erasure jobs at the destinations (SPEC §15). */
  readonly erasures?: ErasureJobs;
  readonly clock?: Clock;
  /** Sends destinations' connection checks; absent where none are sent (the API document alone). */
  readonly transport?: Transport;
  /** The erasure worker running in this process, if any: woken when jobs are added (others find them at their next poll). */
  readonly erasureWorker?: { notify(): void };
  /** The dispatcher running in this process, if any: its live status, a wake-up after replays, and a pause read at once. */
  readonly dispatcher?: {
    readonly ownerId: string;
    status(): DestinationStatus[];
    notify(destinationId?: string): void;
    refreshPause(destinationId: string): Promise<void>;
  };
}

/** The store port an operation uses. */
export function portOf<Port extends 'log' | 'maintenance' | 'pauses' | 'marks' | 'erasures'>(
  deps: AdminDeps,
  port: Port,
): NonNullable<AdminDeps[Port]> {
  const found = deps[port];
  if (!found) throw new Error('this operation needs the store');
  return found;
}

/** The configured source with this id, or without an id the first (the default); undefined when none has it. */
export function findSource(deps: AdminDeps, id?: string): SourceInstance | undefined {
  if (!deps.sources) throw new Error('this operation needs the configured sources');
  return id === undefined ? deps.sources[0] : deps.sources.find((source) => source.id === id);
}
