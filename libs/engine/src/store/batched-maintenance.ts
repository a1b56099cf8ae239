import {
  allows,
  MAINTENANCE_BATCH,
  type Maintenance,
  type MaintenanceBackend,
  type OrphanTransition,
  type PruneResult,
  type Reassignment,
  type ReceivedEvent,
  type ReplayBatch,
  type ReplayFilter,
  type ReplaySelector,
  type RetentionCutoffs,
} from '@ferry/core';
import { BatchPace } from './batch-pace';

/**
 * Maintenance: a store's `MaintenanceBackend` with the batching written once here for every store. Each batch
 * is one short step of the backend's (a transaction found through an index); between batches the event loop
 * runs, so webhooks and health checks answer during a long replay, retention or erasure. Retention and
 * erasure size their batches by time (`BatchPace`) and give the store its turn between them (`afterBatch`).
 */
export class BatchedMaintenance implements Maintenance {
  constructor(private readonly backend: MaintenanceBackend) {}

  async replay(selector: ReplaySelector, nowMs: number, onProgress?: (replayed: number) => void): Promise<number> {
    let replayed = 0;
    for await (const [batch, filter] of this.replayBatches(selector)) {
      replayed += await this.backend.replayBatch(batch, filter, nowMs);
      onProgress?.(replayed);
      await yieldToEventLoop();
    }
    return replayed;
  }

  async countReplay(selector: ReplaySelector): Promise<number> {
    let count = 0;
    for await (const [batch, filter] of this.replayBatches(selector)) {
      count += await this.backend.countReplayBatch(batch, filter);
      await yieldToEventLoop();
    }
    return count;
  }

  /** The batches a replay works through, and which of each batch's deliveries replay: one reading for the replay and its count. */
  private async *replayBatches(selector: ReplaySelector): AsyncGenerator<[ReplayBatch, ReplayFilter]> {
    const { deliveryIds, eventIds, fromMs, toMs, destinationId } = selector;
    if (deliveryIds === undefined && eventIds === undefined && fromMs === undefined && toMs === undefined) {
      throw new Error('replay: give deliveryIds, eventIds, or a fromMs/toMs window');
    }
    // Whatever the selector asks for, only states the table lets replay.
    const states = (selector.states ?? ['dead', 'skipped']).filter((state) => allows('replay', state));
    if (states.length === 0 || deliveryIds?.length === 0 || eventIds?.length === 0) return;
    const window = { fromMs, toMs };
    const byIds = deliveryIds !== undefined || eventIds !== undefined;
    const filter: ReplayFilter = { states, destinationId, window: byIds ? window : undefined };
    // Each id once: a count must not see in two batches what the replay changes in the first.
    const batches = byIds ? idBatches(unique(deliveryIds), unique(eventIds)) : this.windowBatches(window);
    for await (const batch of batches) yield [batch, filter];
  }

  /** The events received in the window, a batch at a time, in order of receipt. */
  private async *windowBatches(window: ReplaySelector): AsyncGenerator<ReplayBatch> {
    for (let after: ReceivedEvent | undefined; ;) {
      const page = await this.backend.receivedEvents(window, after, MAINTENANCE_BATCH);
      if (page.length === 0) return;
      after = page[page.length - 1];
      yield { eventIds: page.map((event) => event.id) };
      if (page.length < MAINTENANCE_BATCH) return;
    }
  }

  dropOrphans(destinationId: string, nowMs: number): Promise<number> {
    return this.orphanBatches(destinationId, 'dropOrphan', nowMs, undefined, (ids) => this.backend.dropOrphans(ids, nowMs));
  }

  async reassignOrphans(fromDestinationId: string, toDestinationId: string, nowMs: number): Promise<Reassignment> {
    // An event already delivered (or waiting) to the new destination keeps that delivery: the unique
    // (event, destination) pair cannot hold two, and sending it twice would duplicate it downstream.
    const reassigned = await this.orphanBatches(fromDestinationId, 'reassignOrphan', nowMs, toDestinationId, (ids) =>
      this.backend.reassignOrphans(ids, toDestinationId, nowMs),
    );
    const kept = await this.backend.countWaitingOrphans(fromDestinationId, 'reassignOrphan', nowMs);
    return { reassigned, kept };
  }

  /**
   * Applies `change` to a destination's waiting deliveries a batch at a time, yielding between batches. A
   * changed delivery leaves the selection, so no cursor is needed.
   */
  private async orphanBatches(
    destinationId: string,
    transition: OrphanTransition,
    nowMs: number,
    notAt: string | undefined,
    change: (ids: readonly string[]) => Promise<number>,
  ): Promise<number> {
    let changed = 0;
    for (;;) {
      const ids = await this.backend.waitingOrphans(destinationId, transition, nowMs, MAINTENANCE_BATCH, notAt);
      if (ids.length === 0) break;
      changed += await change(ids);
      await yieldToEventLoop();
      if (ids.length < MAINTENANCE_BATCH) break;
    }
    return changed;
  }

  async prune(cutoffs: RetentionCutoffs, onProgress?: (removed: number) => void, signal?: AbortSignal): Promise<PruneResult> {
    let removed = 0;
    const pace = new BatchPace();
    const window = { toMs: Math.max(cutoffs.finalBeforeMs, cutoffs.deadBeforeMs) };
    // Old events still waiting stay in the way: a cursor walks past them rather than reading them again.
    for (let after: ReceivedEvent | undefined; !signal?.aborted;) {
      const size = pace.begin();
      const page = await this.backend.receivedEvents(window, after, size);
      if (page.length === 0) break;
      after = page[page.length - 1];
      const outcome = await this.backend.expire(page, cutoffs);
      pace.end();
      if (outcome === 'busy') return { removed, busy: true };
      removed += outcome;
      onProgress?.(removed);
      await this.betweenBatches(outcome > 0);
      if (page.length < size) break;
    }
    return { removed, busy: false };
  }

  async erase(appUserId: string): Promise<number> {
    // Whose marks go: read before the events that tell it.
    const customer = await this.backend.customerOf(appUserId);
    let erased = 0;
    const pace = new BatchPace();
    for (;;) {
      const size = pace.begin();
      const ids = await this.backend.eventsNaming(appUserId, size);
      if (ids.length === 0) break;
      erased += await this.backend.removeEvents(ids);
      pace.end();
      await this.betweenBatches(true);
    }
    await this.backend.eraseMarks(customer);
    await this.backend.afterErase();
    return erased;
  }

  /** Between two batches of a background deletion: the event loop runs (webhooks, health checks), then the store's own step. */
  private async betweenBatches(wrote: boolean): Promise<void> {
    await yieldToEventLoop();
    await this.backend.afterBatch(wrote);
  }
}

/** Replay's batches for id lists: MAINTENANCE_BATCH ids of each list at most. */
async function* idBatches(deliveryIds?: readonly string[], eventIds?: readonly string[]): AsyncGenerator<ReplayBatch> {
  for (const someDeliveryIds of deliveryIds ? batches(deliveryIds) : [undefined]) {
    for (const someEventIds of eventIds ? batches(eventIds) : [undefined]) {
      yield { deliveryIds: someDeliveryIds, eventIds: someEventIds };
    }
  }
}

function unique<T>(items: readonly T[] | undefined): T[] | undefined {
  return items === undefined ? undefined : [...new Set(items)];
}

function batches<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += MAINTENANCE_BATCH) result.push(items.slice(i, i + MAINTENANCE_BATCH));
  return result;
}

/** Lets timers and I/O (webhooks, health checks) run: a synchronous store (better-sqlite3) never yields by itself. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
