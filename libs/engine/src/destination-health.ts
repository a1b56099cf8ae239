import { performance } from 'node:perf_hooks';
import type { Clock, DeliveryQueue, DestinationPause, Logger, StoredPauses } from '@ferry/core';
import type { DestinationStatus, PauseCause } from './options';
import { describeError } from './errors';

type Health =
  { readonly state: 'running' } | { readonly state: 'paused'; readonly cause: PauseCause; readonly reason: string; readonly since: number };

export interface HealthDeps {
  readonly destinationId: string;
  /** Where its waiting deliveries move when it pauses or resumes at start. */
  readonly queue: Pick<DeliveryQueue, 'setPaused'>;
  /** Where its pause is kept for every runner. */
  readonly pauses: StoredPauses;
  readonly clock: Clock;
  /** Already bound to the destination. */
  readonly logger: Logger;
  /** How often a destination paused by refused credentials tries one delivery. */
  readonly probeEveryMs: number;
  /** This runner, as recorded with a pause it sets. */
  readonly ownerId: string;
  /** Makes a text safe to log and show (secrets out). */
  readonly safeText: (text: string) => string;
  /** Called after it pauses or resumes. */
  readonly onChange?: () => void;
}

const RUNNING: Health = { state: 'running' };

/**
 * Whether one destination sends, and if not, why and since when: the one owner of its pause. A pause
 * other than missing configuration is kept in the store, so it holds for every runner and survives
 * restarts; this class caches it, and the loop refreshes the cache on its polls. The loop reports refused
 * credentials and accepted probes here and asks it when to probe; the planner asks it (through the
 * dispatcher) whether new deliveries wait as paused. Deliveries follow in the store, by the `pause` and
 * `resume` transitions.
 */
export class DestinationHealth {
  private readonly configuration: Health;
  private stored: Health = RUNNING;
  /** When this runner probes next (performance.now() time, like the loop's sleeps); 0: at once. */
  private nextProbeAt = 0;

  /** `missingConfig`: what the destination lacks to send at all; it stays paused while anything is missing. */
  constructor(
    private readonly deps: HealthDeps,
    missingConfig: readonly string[],
  ) {
    this.configuration =
      missingConfig.length > 0
        ? { state: 'paused', cause: 'configuration', reason: `missing configuration: ${missingConfig.join(', ')}`, since: deps.clock.now() }
        : RUNNING;
  }

  private get health(): Health {
    return this.configuration.state === 'paused' ? this.configuration : this.stored;
  }

  get paused(): boolean {
    return this.health.state === 'paused';
  }

  /** Missing configuration needs a new config and a restart: nothing this runner does can end it. */
  get cannotSend(): boolean {
    return this.configuration.state === 'paused';
  }

  /** Only a credentials pause can end by a probe; an operator's ends when the operator resumes it. */
  get probing(): boolean {
    const health = this.health;
    return health.state === 'paused' && health.cause === 'credentials';
  }

  status(): Pick<DestinationStatus, 'state' | 'pausedBy' | 'reason' | 'since'> {
    const health = this.health;
    return health.state === 'running'
      ? { state: 'running' }
      : { state: 'paused', pausedBy: health.cause, reason: health.reason, since: health.since };
  }

  /**
   * While probing: 0 when this runner's probe is due (and the next one then waits a full interval), else
   * how long until it is. Infinity when it does not probe.
   */
  takeProbeTurn(): number {
    if (!this.probing) return Infinity;
    const now = performance.now();
    if (now < this.nextProbeAt) return this.nextProbeAt - now;
    this.nextProbeAt = now + this.deps.probeEveryMs;
    return 0;
  }

  /** Reads the stored pause (one row): a pause or resume by another runner or the operator takes effect here. */
  async refresh(): Promise<void> {
    let pauses: DestinationPause[];
    try {
      pauses = await this.deps.pauses.destinationPauses(this.deps.destinationId);
    } catch (error) {
      // The cached state holds until the store answers again.
      this.deps.logger.warn(
        { error: this.deps.safeText(describeError(error)) },
        'could not read the stored pause; keeping the last one seen',
      );
      return;
    }
    this.adopt(pauses[0]);
  }

  /**
   * At start: takes the stored pause. A destination that can send takes back the deliveries left paused
   * (planned just before a resume, or while its config was incomplete); one that cannot parks its
   * waiting ones, visibly. A credentials pause is probed at once: the restart may have brought new ones.
   */
  async settle(): Promise<void> {
    const { queue, destinationId, clock, logger } = this.deps;
    await this.refresh();
    this.nextProbeAt = 0;
    const health = this.health;
    const pausing = health.state === 'paused';
    if (health.state === 'paused' && health.cause === 'configuration') {
      logger.warn({ reason: health.reason }, 'destination cannot send: its deliveries wait as paused until the config is complete');
    }
    try {
      const moved = await queue.setPaused(destinationId, pausing, clock.now());
      if (moved > 0) {
        logger.info(
          { deliveries: moved },
          pausing ? `paused ${moved} deliveries of ${destinationId}` : `resumed ${moved} paused deliveries of ${destinationId}`,
        );
      }
    } catch (error) {
      // Nothing is lost: the running loop leases paused stragglers when idle, and a paused one sends nothing.
      logger.error({ error: this.deps.safeText(describeError(error)) }, 'could not bring stored deliveries in line at start');
    }
  }

  /** The destination refused the credentials: it pauses for every runner, and so do its waiting deliveries. */
  async credentialsRefused(reason: string): Promise<void> {
    const { pauses, destinationId, clock, logger } = this.deps;
    const safeReason = this.deps.safeText(reason);
    const pause: DestinationPause = {
      destinationId,
      cause: 'credentials',
      reason: safeReason,
      sinceMs: clock.now(),
      setBy: this.deps.ownerId,
    };
    try {
      this.adopt(await pauses.pauseDestination(pause));
    } catch (error) {
      // Paused here all the same until the store answers; pending deliveries simply wait as pending.
      logger.error({ error: this.deps.safeText(describeError(error)) }, 'could not store the pause');
      this.adopt(pause);
    }
  }

  /** A probe got through: running again for every runner, and the paused deliveries fall due. */
  async probeAccepted(): Promise<void> {
    if (!this.probing) return;
    // Only a credentials pause ends: an operator may have paused it meanwhile.
    this.adopt(await this.deps.pauses.resumeDestination(this.deps.destinationId, this.deps.clock.now(), 'credentials'));
  }

  /** Takes `pause` (none: running) as the stored state; logs and reports a change. */
  private adopt(pause: DestinationPause | undefined): void {
    const before = this.stored;
    const after: Health = pause ? { state: 'paused', cause: pause.cause, reason: pause.reason, since: pause.sinceMs } : RUNNING;
    if (sameHealth(before, after)) return;
    this.stored = after;
    if (after.state === 'paused' && after.cause === 'credentials') this.nextProbeAt = performance.now() + this.deps.probeEveryMs;
    const { logger } = this.deps;
    if (after.state === 'running') logger.info({ pausedBy: before.state === 'paused' ? before.cause : undefined }, 'destination resumed');
    else if (after.cause === 'credentials')
      logger.warn(
        { reason: after.reason, probeEveryMs: this.deps.probeEveryMs },
        'destination paused: its credentials were refused; its deliveries wait (none die) and one is retried on every probe',
      );
    else logger.warn({ reason: after.reason }, 'destination paused by an operator; its deliveries wait (none die) until resumed');
    if (!this.cannotSend) this.deps.onChange?.();
  }
}

function sameHealth(a: Health, b: Health): boolean {
  if (a.state === 'running' || b.state === 'running') return a.state === b.state;
  return a.cause === b.cause && a.reason === b.reason && a.since === b.since;
}
