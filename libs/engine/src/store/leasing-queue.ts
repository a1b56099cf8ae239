import {
  INTERRUPTED_ERROR,
  interruptedTooOftenError,
  MAX_INTERRUPTIONS,
  systemClock,
  type AttemptRow,
  type DeliveryQueue,
  type DeliveryUpdate,
  type HeldDelivery,
  type IngestEvent,
  type LeaseCandidate,
  type LeasedDelivery,
  type LeaseRenewal,
  type LeaseRequest,
  type LeaseSteps,
  type LeaseTransition,
  type Logger,
  type NewDelivery,
  type QueueBackend,
} from '@ferry/core';

export interface LeasingQueueDeps {
  readonly logger: Logger;
}

/**
 * The delivery queue: a store's `QueueBackend` with the lease policy, written once here for every store.
 *
 * A lease takes over expired leases first (they have waited longest), then due pending deliveries, in the
 * store's index order, up to `limit`. A lease taken over was being sent when its holder stopped: that counts
 * as an attempt, and a delivery interrupted `MAX_INTERRUPTIONS` times in a row is set aside as dead instead
 * (likely what stops the runner). Bodies count against `maxBytes` as deliveries are taken, at least one
 * however large; those past the cap are left untouched for the next lease, and only the bodies of the
 * deliveries taken are read. A release at start counts interruptions the same way. Each lease or release is
 * one transaction of the backend's.
 */
export class LeasingQueue implements DeliveryQueue {
  constructor(
    private readonly backend: QueueBackend,
    private readonly deps: LeasingQueueDeps,
  ) {}

  ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<'stored' | 'duplicate'> {
    return this.backend.ingest(event, deliveries, nowMs);
  }

  async lease(request: LeaseRequest): Promise<LeasedDelivery[]> {
    const { destinationId, limit, nowMs, leaseMs, owner } = request;
    if (limit <= 0) return [];
    const maxBytes = request.maxBytes ?? Infinity;
    return this.backend.leasing(nowMs, async (steps) => {
      const taken: Omit<LeasedDelivery, 'body' | 'source'>[] = [];
      let bytes = 0;
      let full = false;
      const take = async (transition: LeaseTransition) => {
        const candidates = await steps.candidates(destinationId, transition, limit - taken.length);
        // A lease taken over was being sent when its holder stopped: an attempt, and maybe the last one.
        const interrupted = transition === 'takeOver';
        const abandoned: LeaseCandidate[] = [];
        const picked: LeaseCandidate[] = [];
        for (const candidate of candidates) {
          if (interrupted && candidate.interruptions + 1 >= MAX_INTERRUPTIONS) {
            abandoned.push(candidate);
            continue;
          }
          // At least one delivery, however large, so a huge webhook still goes (alone). Those past the cap are
          // left as they are, for the next lease: nothing of them is counted or read.
          if ((taken.length > 0 || picked.length > 0) && bytes + candidate.bytes > maxBytes) {
            full = true;
            break;
          }
          picked.push(candidate);
          bytes += candidate.bytes;
        }
        if (interrupted) await this.interrupt(steps, [...abandoned, ...picked], abandoned, nowMs);
        if (picked.length === 0) return;
        await steps.markLeased(
          picked.map((candidate) => candidate.id),
          transition,
          { owner, leaseMs, interrupted },
        );
        taken.push(
          ...picked.map(({ id, eventId, destinationId: destination, attempts, windowStartMs }) => ({
            id,
            eventId,
            destinationId: destination,
            attempts: attempts + (interrupted ? 1 : 0),
            windowStartMs,
          })),
        );
      };
      if (request.from === 'paused') {
        await take('probe');
      } else {
        // Leases of crashed or stalled holders first: they have waited longest.
        await take('takeOver');
        if (taken.length < limit && !full) await take('lease');
      }
      if (taken.length === 0) return [];
      const bodies = await steps.bodies([...new Set(taken.map((delivery) => delivery.eventId))]);
      // The foreign key guarantees every delivery its event.
      return taken.map((delivery) => ({ ...delivery, ...bodies.get(delivery.eventId)! }));
    });
  }

  renewLeases(renewal: LeaseRenewal): Promise<string[]> {
    return this.backend.renewLeases(renewal);
  }

  heldLeases(deliveryIds: readonly string[], owner: string): Promise<string[]> {
    return this.backend.heldLeases(deliveryIds, owner);
  }

  complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void> {
    return this.backend.complete(updates, nowMs, owner);
  }

  releaseLeases(owner?: string): Promise<number> {
    // The port takes no time: a release is recorded at this process's now, as the interrupted attempt's start.
    const nowMs = systemClock.now();
    return this.backend.leasing(nowMs, async (steps) => {
      const held = await steps.inFlight(owner);
      // Released after a crash: the runner stopped while sending them, as when a lease is taken over.
      const abandoned = held.filter((delivery) => delivery.interruptions + 1 >= MAX_INTERRUPTIONS);
      await this.interrupt(steps, held, abandoned, nowMs);
      const released = held.filter((delivery) => !abandoned.includes(delivery)).map((delivery) => delivery.id);
      if (released.length > 0) await steps.release(released, INTERRUPTED_ERROR);
      return held.length;
    });
  }

  setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number> {
    return this.backend.setPaused(destinationId, paused, nowMs);
  }

  nextDueAtMs(destinationId: string): Promise<number | undefined> {
    return this.backend.nextDueAtMs(destinationId);
  }

  /**
   * Logs an interrupted attempt for each of these in-flight deliveries (each taken over or released), and sets
   * aside as dead those of them `abandoned`: interrupted `MAX_INTERRUPTIONS` times in a row. The caller moves
   * the others on (leased again, or released).
   */
  private async interrupt(
    steps: LeaseSteps,
    deliveries: readonly HeldDelivery[],
    abandoned: readonly HeldDelivery[],
    nowMs: number,
  ): Promise<void> {
    if (deliveries.length === 0) return;
    await steps.logAttempts(deliveries.map((delivery) => interruptedAttempt(delivery, nowMs)));
    if (abandoned.length === 0) return;
    // The reason keeps the count; a replay starts a fresh one.
    const reason = interruptedTooOftenError(MAX_INTERRUPTIONS);
    const deliveryIds = abandoned.map((delivery) => delivery.id);
    await steps.abandon(deliveryIds, reason);
    this.deps.logger.warn({ deliveryIds, reason }, 'deliveries set aside as dead: their runner kept stopping while sending them');
  }
}

/** The attempt-log entry of an attempt its runner stopped during. */
function interruptedAttempt(delivery: HeldDelivery, nowMs: number): AttemptRow {
  return {
    deliveryId: delivery.id,
    number: delivery.attempts + 1,
    startedAtMs: nowMs,
    durationMs: 0,
    status: null,
    outcome: 'retry',
    error: INTERRUPTED_ERROR,
  };
}
