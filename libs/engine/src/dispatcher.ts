import { randomUUID } from 'node:crypto';
import type { Clock, DeliveryQueue, Logger, StateMarks, StoredPauses, SubscriptionEvent, Transport } from '@ferry/core';
import { DestinationLoop } from './destination-loop';
import type { DestinationInstance } from './instance';
import {
  DEFAULT_DISPATCHER_OPTIONS,
  LEASE_PER_TIMEOUT,
  type DestinationStatus,
  type DispatcherOptions,
  type EngineObserver,
} from './options';

export interface DispatcherDeps {
  readonly queue: DeliveryQueue;
  /** The pauses every runner shares, and the ordering guard's marks. */
  readonly coordination: StoredPauses & StateMarks;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Stored webhook body → event, by the source it came through (the events row's `source`: the runner
   * decodes with that source instance's plugin); throws when it cannot, e.g. the source is no longer configured.
   */
  readonly decode: (body: string, source: string) => SubscriptionEvent;
  readonly destinations: readonly DestinationInstance[];
  readonly options?: Partial<DispatcherOptions>;
  readonly observer?: EngineObserver;
  readonly random?: () => number;
}

/**
 * Delivers stored deliveries: one independent loop per destination instance, each leasing its own due
 * deliveries, batching, sending and storing outcomes. Ingest never waits on it: `notify` only wakes loops.
 */
export class Dispatcher {
  private readonly loops = new Map<string, DestinationLoop>();
  /** This runner: the owner of its leases and the author of the pauses it stores. */
  readonly ownerId: string;

  constructor(deps: DispatcherDeps) {
    const given = Object.entries(deps.options ?? {}).filter(([, value]) => value !== undefined); // unset keys keep their defaults
    const options: DispatcherOptions = { ownerId: `runner-${randomUUID()}`, ...DEFAULT_DISPATCHER_OPTIONS, ...Object.fromEntries(given) };
    this.ownerId = options.ownerId;
    const loopDeps = { ...deps, options, random: deps.random ?? Math.random };
    for (const destination of deps.destinations) {
      if (this.loops.has(destination.id)) throw new Error(`destination id "${destination.id}" is used twice`);
      if (options.leaseMs < LEASE_PER_TIMEOUT * destination.timeoutMs)
        throw new Error(
          `leaseMs (${options.leaseMs}) must be at least ${LEASE_PER_TIMEOUT} × the timeoutMs of destination "${destination.id}" (${destination.timeoutMs})`,
        );
      this.loops.set(destination.id, new DestinationLoop(destination, loopDeps));
    }
  }

  /** Starts every destination's loop; destinations never wait on each other. */
  start(): void {
    for (const loop of this.loops.values()) loop.start();
  }

  /** New pending deliveries exist (for one destination, or any): wake the loops now instead of at their next poll. */
  notify(destinationId?: string): void {
    if (destinationId === undefined) for (const loop of this.loops.values()) loop.notify();
    else this.loops.get(destinationId)?.notify();
  }

  /** The stored pause of a destination changed (an operator's pause or resume): its loop reads it now, not at its next poll. */
  async refreshPause(destinationId: string): Promise<void> {
    await this.loops.get(destinationId)?.refreshPause();
  }

  status(): DestinationStatus[] {
    return [...this.loops.values()].map((loop) => loop.status());
  }

  /** Destinations whose new deliveries should be planned as paused. */
  pausedDestinationIds(): ReadonlySet<string> {
    return new Set(
      this.status()
        .filter((status) => status.state === 'paused')
        .map((status) => status.destinationId),
    );
  }

  /** Stops leasing, finishes the requests in flight and stores their outcomes, then resolves. */
  async stop(): Promise<void> {
    await Promise.all([...this.loops.values()].map((loop) => loop.stop()));
  }
}

/**
 * For the embedded store at start: its runner is the only one, so whatever it finds in flight was its own
 * before a crash and goes back to pending at once instead of waiting for the leases to expire. (Paused
 * deliveries are brought in line by each destination's loop when it starts.)
 */
export async function releaseCrashedLeases(queue: Pick<DeliveryQueue, 'releaseLeases'>, logger: Logger): Promise<number> {
  const released = await queue.releaseLeases();
  if (released > 0) logger.info({ released }, `resuming ${released} deliveries that were in flight when the runner stopped`);
  return released;
}
