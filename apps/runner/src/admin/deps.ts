import type { Clock, SourcePlugin, Store } from '@ferry/core';
import type { DestinationInstance, DestinationStatus } from '@ferry/engine';

/** What the admin operations need, as one object: every concern takes it whole. */
export interface AdminDeps {
  readonly destinations: readonly DestinationInstance[];
  /** Parses the webhooks to preview, and stored ones to rebuild their requests; absent for the API document alone. */
  readonly source?: SourcePlugin;
  /** Absent for commands that need none (preview). */
  readonly store?: Store;
  readonly clock?: Clock;
  /** The dispatcher running in this process, if any: its live status, a wake-up after replays, and a pause read at once. */
  readonly dispatcher?: {
    readonly ownerId: string;
    status(): DestinationStatus[];
    notify(destinationId?: string): void;
    refreshPause(destinationId: string): Promise<void>;
  };
}

export function storeOf(deps: AdminDeps): Store {
  if (!deps.store) throw new Error('this operation needs the store');
  return deps.store;
}

export function sourceOf(deps: AdminDeps): SourcePlugin {
  if (!deps.source) throw new Error('this operation needs the webhook source');
  return deps.source;
}
