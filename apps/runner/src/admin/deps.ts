import type { Clock, EventLog, Maintenance, SourcePlugin, StoredPauses } from '@ferry/core';
import type { DestinationInstance, DestinationStatus } from '@ferry/engine';

/** What the admin operations need, as one object: every concern takes it whole. */
export interface AdminDeps {
  readonly destinations: readonly DestinationInstance[];
  /** The configured sources: `GET /admin/sources` lists them. */
  readonly sources: readonly { readonly id: string; readonly plugin: { readonly id: string } }[];
  /**
   * Webhooks this runner answered `duplicate` or refused, per source id, since it started; absent where no
   * webhooks are taken (the command line).
   */
  readonly webhookCounts?: () => ReadonlyMap<string, { readonly duplicate: number; readonly rejected: number }>;
  /** Parses the webhooks to preview, and stored ones to rebuild their requests; absent for the API document alone. */
  readonly source?: SourcePlugin;
  /** The store's ports the operations use; absent for commands that need none (preview). */
  readonly log?: EventLog;
  readonly maintenance?: Maintenance;
  readonly pauses?: StoredPauses;
  readonly clock?: Clock;
  /** The dispatcher running in this process, if any: its live status, a wake-up after replays, and a pause read at once. */
  readonly dispatcher?: {
    readonly ownerId: string;
    status(): DestinationStatus[];
    notify(destinationId?: string): void;
    refreshPause(destinationId: string): Promise<void>;
  };
}

/** The store port an operation uses. */
export function portOf<Port extends 'log' | 'maintenance' | 'pauses'>(deps: AdminDeps, port: Port): NonNullable<AdminDeps[Port]> {
  const found = deps[port];
  if (!found) throw new Error('this operation needs the store');
  return found;
}

export function sourceOf(deps: AdminDeps): SourcePlugin {
  if (!deps.source) throw new Error('this operation needs the webhook source');
  return deps.source;
}
