import type { Clock, Logger, Store } from '@ferry/core';
import type { DestinationStatus } from './options';
import { describeError } from './errors';

/** Why a destination does not send. An operator's pause, kept in the store, is to join these. */
export type PauseCause = 'configuration' | 'credentials';

type Health =
  { readonly state: 'running' } | { readonly state: 'paused'; readonly cause: PauseCause; readonly reason: string; readonly since: number };

export interface HealthDeps {
  readonly destinationId: string;
  readonly store: Store;
  readonly clock: Clock;
  /** Already bound to the destination. */
  readonly logger: Logger;
  /** How often a destination paused by refused credentials tries one delivery. */
  readonly probeEveryMs: number;
  /** Makes a text safe to log and show (secrets out). */
  readonly safeText: (text: string) => string;
  /** Called after it pauses or resumes. */
  readonly onChange?: () => void;
}

/**
 * Whether one destination sends, and if not, why and since when: the one owner of its pause. The loop
 * reports refused credentials and accepted probes here and asks it when to probe; the planner asks it
 * (through the dispatcher) whether new deliveries wait as paused; at start it brings the stored
 * deliveries in line with it. Deliveries follow in the store, by the `pause` and `resume` transitions.
 */
export class DestinationHealth {
  private health: Health;

  /** `missingConfig`: what the destination lacks to send at all; it stays paused while anything is missing. */
  constructor(
    private readonly deps: HealthDeps,
    private readonly missingConfig: readonly string[],
  ) {
    this.health =
      missingConfig.length > 0
        ? { state: 'paused', cause: 'configuration', reason: `missing configuration: ${missingConfig.join(', ')}`, since: deps.clock.now() }
        : { state: 'running' };
  }

  get paused(): boolean {
    return this.health.state === 'paused';
  }

  /** Only a credentials pause can end by a probe; missing configuration needs a new config and a restart. */
  get probing(): boolean {
    return this.health.state === 'paused' && this.health.cause === 'credentials';
  }

  get probeEveryMs(): number {
    return this.deps.probeEveryMs;
  }

  status(): Pick<DestinationStatus, 'state' | 'reason' | 'since'> {
    const health = this.health;
    return health.state === 'running' ? { state: 'running' } : { state: 'paused', reason: health.reason, since: health.since };
  }

  /**
   * At start: a destination that can send takes back the deliveries left paused (by a pause before a
   * restart, or by a config that was incomplete then); one that cannot parks its waiting ones, visibly.
   */
  async settle(): Promise<void> {
    const { store, destinationId, clock, logger } = this.deps;
    const health = this.health;
    const pausing = health.state === 'paused';
    if (health.state === 'paused') {
      logger.warn({ reason: health.reason }, 'destination cannot send: its deliveries wait as paused until the config is complete');
    }
    try {
      const moved = await store.setPaused(destinationId, pausing, clock.now());
      if (moved > 0) {
        logger.info(
          { deliveries: moved },
          pausing
            ? `paused ${moved} deliveries of ${destinationId} until its config is complete`
            : `resumed ${moved} paused deliveries of ${destinationId}`,
        );
      }
    } catch (error) {
      // Nothing is lost: the running loop leases paused stragglers when idle, and a paused one sends nothing.
      logger.error({ error: this.deps.safeText(describeError(error)) }, 'could not bring stored deliveries in line at start');
    }
  }

  /** The destination refused the credentials: it pauses (if it was running) and so do its waiting deliveries. */
  async credentialsRefused(reason: string): Promise<void> {
    const { store, destinationId, clock, logger } = this.deps;
    if (this.health.state === 'running') {
      const safeReason = this.deps.safeText(reason);
      this.health = { state: 'paused', cause: 'credentials', reason: safeReason, since: clock.now() };
      logger.warn(
        { reason: safeReason, probeEveryMs: this.deps.probeEveryMs },
        'destination paused: its credentials were refused; its deliveries wait (none die) and one is retried on every probe',
      );
      this.deps.onChange?.();
    }
    try {
      await store.setPaused(destinationId, true, clock.now());
    } catch (error) {
      // The destination is paused all the same; pending deliveries simply wait as pending until it resumes.
      logger.error({ error: this.deps.safeText(describeError(error)) }, 'could not mark pending deliveries paused');
    }
  }

  /** A probe got through: running again, and the paused deliveries fall due. */
  async probeAccepted(): Promise<void> {
    if (!this.probing) return;
    // Running first, so events planned from now on go to pending; then the paused ones follow.
    this.health = { state: 'running' };
    await this.deps.store.setPaused(this.deps.destinationId, false, this.deps.clock.now());
    this.deps.logger.info({}, 'destination resumed: a probe delivery was accepted');
    this.deps.onChange?.();
  }
}
