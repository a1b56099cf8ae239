import type { Clock, DeliveryQueue, LeasedDelivery, Logger } from '@ferry/core';
import { describeError } from './errors';

export interface LeaseKeeperDeps {
  readonly queue: Pick<DeliveryQueue, 'heldLeases' | 'renewLeases'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly ownerId: string;
  readonly leaseMs: number;
  /** Makes an error text safe to log. */
  readonly safeText: (text: string) => string;
}

/**
 * Holds one batch's leases while it is sent. A batch may need many request rounds (large bodies split
 * into many requests, a concurrency cap, a slow destination), so a lease taken once would run out under
 * it and another sender would send it again. The keeper renews the leases every third of a lease, and
 * before each request it makes sure the request's deliveries are still held (a delivery erased meanwhile
 * is not sent) and that their leases surely outlast the request's timeout, renewing them if not.
 */
export class LeaseKeeper {
  private held: Set<string>;
  /** Until when, by this runner's clock, the leases surely hold (the store set them from a later moment). */
  private heldUntilMs: number;
  private renewing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    leased: readonly LeasedDelivery[],
    leasedAtMs: number,
    private readonly deps: LeaseKeeperDeps,
  ) {
    this.held = new Set(leased.map((delivery) => delivery.id));
    this.heldUntilMs = leasedAtMs + deps.leaseMs;
    this.timer = setInterval(() => void this.renew(), Math.max(1, Math.floor(deps.leaseMs / 3)));
  }

  /**
   * Whether the deliveries are still held for at least `ms` more, asked of the store just before each request:
   * false when a lease was lost (taken over, or its delivery erased since the lease) or could not be renewed
   * in time, so the request must not go. Leases that surely outlast the request are only looked at (a read);
   * others are renewed first. A store that cannot be reached leaves the leases as they were known, so
   * requests go while they surely hold.
   */
  async holds(deliveryIds: readonly string[], ms: number): Promise<boolean> {
    const outlasts = () => this.deps.clock.now() + ms < this.heldUntilMs;
    if (outlasts()) await this.look(deliveryIds);
    else await this.renew();
    return deliveryIds.every((id) => this.held.has(id)) && outlasts();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Requests waiting at once share one renewal. */
  private renew(): Promise<void> {
    this.renewing ??= this.renewNow().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  /** Forgets those of `deliveryIds` the store says this runner no longer holds. */
  private async look(deliveryIds: readonly string[]): Promise<void> {
    const { queue, ownerId, logger } = this.deps;
    const asked = deliveryIds.filter((id) => this.held.has(id));
    if (asked.length === 0) return;
    try {
      const held = new Set(await queue.heldLeases(asked, ownerId));
      this.forget(asked.filter((id) => !held.has(id)));
    } catch (error) {
      logger.warn(
        { error: this.deps.safeText(describeError(error)) },
        'could not check the leases of a batch being sent; they are known to hold',
      );
    }
  }

  private forget(lost: readonly string[]): void {
    if (lost.length === 0) return;
    this.deps.logger.warn({ deliveryIds: lost }, 'lost the leases of deliveries still being sent; their requests not yet made are dropped');
    for (const id of lost) this.held.delete(id);
  }

  private async renewNow(): Promise<void> {
    if (this.held.size === 0) return;
    const { queue, clock, ownerId, leaseMs, logger } = this.deps;
    const startedAtMs = clock.now();
    try {
      const renewed = new Set(await queue.renewLeases({ deliveryIds: [...this.held], owner: ownerId, nowMs: startedAtMs, leaseMs }));
      this.forget([...this.held].filter((id) => !renewed.has(id)));
      this.heldUntilMs = startedAtMs + leaseMs;
    } catch (error) {
      logger.warn(
        { error: this.deps.safeText(describeError(error)) },
        'could not renew the leases of a batch being sent; a request that would outlast them is not made',
      );
    }
  }
}
