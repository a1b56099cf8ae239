import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent } from 'undici';
import type { AlertOutbox, Clock, EventLog, Logger, UnsentAlert } from '@ferry/core';
import type { DestinationStatus, EngineObserver } from '@ferry/engine';
import { AlertTarget, DEFAULT_ALERT_TUNING, MAX_WAITING, type AlertTuning } from './alert-target';
import type { RunnerConfig } from './config';
import { SerialQueue } from './serial-queue';

export type AlertKind = 'paused' | 'resumed' | 'dead' | 'pending';

/** One alert, as the "json" format posts it; "slack" posts `{ text }`. Every text field is already redacted. */
export interface Alert {
  readonly source: 'ferry';
  readonly kind: AlertKind;
  readonly destinationId: string;
  /** One line for people. */
  readonly text: string;
  /** When it was raised, ISO 8601. */
  readonly at: string;
  readonly pausedBy?: string;
  readonly reason?: string;
  readonly count?: number;
  readonly firstError?: string | null;
  readonly oldestPendingMinutes?: number;
}

/**
 * Store jobs (claims of alerts raised, holds, backlog checks, prunes) waiting beyond this are dropped (and
 * logged): a store that is slow must not grow memory.
 */
const MAX_QUEUED = 100;

/** Claims are kept this long, so a restart does not repeat an alert; older ones are pruned, PRUNE_LIMIT per check. */
export const ALERT_CLAIMS_KEPT_MS = 30 * 24 * 3_600_000;
const PRUNE_LIMIT = 500;

export interface AlertDeps {
  readonly config: Pick<RunnerConfig, 'alerts' | 'destinations'>;
  /** Where alerts are claimed and kept until sent. */
  readonly alerts: AlertOutbox;
  /** The backlog's age, for the pending alert. */
  readonly log: Pick<EventLog, 'stats'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Scrubs every configured secret (the targets' URLs among them) from text. */
  readonly redact: (text: string) => string;
  readonly tuning?: AlertTuning;
}

interface DeadGroup {
  count: number;
  firstError: string | null;
}

/**
 * SPEC §10: alerts on pauses, resumes, dead deliveries and old backlogs. It hears the engine as an observer
 * (synchronous calls that only note what happened) and sends from queues of its own, so a slow or failing
 * receiver never delays a delivery. Each alert's key is claimed in the store first: of several runners
 * sharing a database that see the same pause, backlog or interval's dead deliveries, one sends it. The
 * store keeps the alert for each target until that target is done with it (`AlertTarget`), held by this
 * runner under a lease it renews: one left unsent at a stop is released, and one a crashed runner held is
 * taken over once its lease runs out, by another runner or the next start.
 */
export class AlertService implements EngineObserver {
  private readonly tuning: AlertTuning;
  private readonly intervalMs: number;
  private readonly pendingMs: number;
  private readonly log: Logger;
  private readonly agent: Agent;
  /** This service as the holder of its alerts in the store. */
  private readonly owner = `alerts-${randomUUID()}`;
  private readonly targets: AlertTarget[];
  /** Ends the requests and backoffs still going when stop() has waited long enough. */
  private readonly aborter = new AbortController();
  /** Per destination: dead deliveries not reported yet. */
  private readonly dead = new Map<string, DeadGroup>();
  /** Per paused destination: when its pause began, for the key of the resume alert. */
  private readonly pausedSince = new Map<string, number>();
  /** Destinations whose backlog was over the threshold at the last check: reported once until it drops below. */
  private readonly overdue = new Set<string>();
  /** The store work (claims, holds, backlog checks), in order: a pause's alert is queued before its resume's. */
  private readonly queue: SerialQueue;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly deps: AlertDeps) {
    this.tuning = deps.tuning ?? DEFAULT_ALERT_TUNING;
    this.agent = new Agent({ connect: { timeout: this.tuning.timeoutMs } });
    this.intervalMs = Math.round(deps.config.alerts.intervalMinutes * 60_000);
    this.pendingMs = Math.round(deps.config.alerts.pendingMinutes * 60_000);
    this.log = deps.logger.child({ component: 'alerts' });
    this.queue = new SerialQueue((error) =>
      this.log.error({ error: deps.redact(String((error as Error)?.message ?? error)) }, 'alert failed'),
    );
    this.targets = deps.config.alerts.targets.map(
      (target, index) =>
        new AlertTarget({
          index,
          target,
          tuning: this.tuning,
          agent: this.agent,
          signal: this.aborter.signal,
          stopping: () => this.stopped,
          log: this.log,
          redact: deps.redact,
          done: (key) => deps.alerts.alertSent(key, index),
        }),
    );
  }

  private get enabled(): boolean {
    return this.targets.length > 0 && !this.stopped;
  }

  /** Takes up the alerts left unsent (a stop, a crash), checks at once, then every `alerts.intervalMinutes`. */
  start(): void {
    if (!this.enabled || this.timers.length > 0) return;
    this.timers.push(
      setInterval(() => this.check(), this.intervalMs),
      setInterval(() => this.enqueue(() => this.hold()), Math.max(1, Math.floor(this.tuning.leaseMs / 3))),
    );
    this.enqueue(() => this.hold());
    this.check();
  }

  /**
   * Stops checking and reports the dead deliveries noted so far. Alerts queued get one request timeout to
   * go out, without retries; then what is still being sent is abandoned, so a receiver that hangs cannot
   * hold up a shutdown for longer. What was not sent is released in the store, for the next start.
   */
  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    const wasEnabled = this.enabled;
    if (wasEnabled) this.reportDead();
    this.stopped = true;
    const abandon = delay(this.tuning.timeoutMs, undefined, { ref: false, signal: this.aborter.signal }).then(
      () => this.aborter.abort(),
      () => undefined,
    );
    await this.idle();
    this.aborter.abort();
    await abandon;
    if (wasEnabled) {
      await this.deps.alerts
        .releaseAlerts(this.owner)
        .catch((error: unknown) =>
          this.log.warn(
            { error: this.deps.redact(String((error as Error)?.message ?? error)) },
            'could not release unsent alerts; another runner takes them once their lease runs out',
          ),
        );
    }
    await this.agent.close();
  }

  /** Resolves once every alert raised so far has been sent, given up, or left for later. */
  async idle(): Promise<void> {
    // A target's send may queue store work (and the store work may offer a target more): until neither has any.
    let busy = true;
    while (busy) {
      await this.queue.idle();
      await Promise.all(this.targets.map((target) => target.idle()));
      busy = this.queue.size > 0;
    }
  }

  statusChanged(status: DestinationStatus): void {
    if (!this.enabled) return;
    const { destinationId } = status;
    if (status.state === 'paused' && status.pausedBy !== 'configuration' && status.since !== undefined) {
      this.pausedSince.set(destinationId, status.since);
      const reason = this.deps.redact(status.reason ?? '');
      const text =
        status.pausedBy === 'operator'
          ? `Ferry: destination ${destinationId} was paused by an operator (${reason}); its deliveries wait until it is resumed.`
          : `Ferry: destination ${destinationId} was paused because it refused its credentials (${reason}); its deliveries wait, and one is retried on every probe.`;
      this.raise(`paused:${destinationId}:${status.since}`, { kind: 'paused', destinationId, text, pausedBy: status.pausedBy, reason });
    } else if (status.state === 'running') {
      const since = this.pausedSince.get(destinationId);
      if (since === undefined) return;
      this.pausedSince.delete(destinationId);
      const text = `Ferry: destination ${destinationId} resumed; its waiting deliveries are being sent.`;
      this.raise(`resumed:${destinationId}:${since}`, { kind: 'resumed', destinationId, text });
    }
  }

  deliveriesDead(destinationId: string, count: number, firstError: string | null): void {
    if (!this.enabled) return;
    const group = this.dead.get(destinationId);
    if (group) group.count += count;
    else this.dead.set(destinationId, { count, firstError });
  }

  /** Reports the dead deliveries noted since the last report and backlogs over the threshold; prunes old claims. */
  check(): void {
    if (!this.enabled) return;
    this.reportDead();
    this.enqueue(() => this.checkBacklogs());
    this.enqueue(() => this.pruneClaims());
  }

  /** One alert per destination with dead deliveries, keyed by the interval, so runners sharing a store send one. */
  private reportDead(): void {
    const window = Math.floor(this.deps.clock.now() / this.intervalMs);
    for (const [destinationId, group] of this.dead) {
      this.dead.delete(destinationId);
      const firstError = group.firstError === null ? null : this.deps.redact(group.firstError);
      const text =
        `Ferry: ${group.count} ${group.count === 1 ? 'delivery' : 'deliveries'} to ${destinationId} went dead` +
        `${firstError ? `; the first error: ${firstError}` : ''}. Replay them once the cause is fixed.`;
      this.raise(`dead:${destinationId}:${window}`, { kind: 'dead', destinationId, text, count: group.count, firstError }, () =>
        // Another runner reported this destination in this interval: these go with the next report.
        this.deliveriesDead(destinationId, group.count, group.firstError),
      );
    }
  }

  private async checkBacklogs(): Promise<void> {
    const nowMs = this.deps.clock.now();
    const stats = await this.deps.log.stats(nowMs);
    const configured = new Set(this.deps.config.destinations.map((destination) => destination.id));
    for (const { destinationId, ageMs } of stats.oldestPendingAgeMs) {
      if (!configured.has(destinationId)) continue;
      if (ageMs <= this.pendingMs) {
        this.overdue.delete(destinationId);
        continue;
      }
      if (this.overdue.has(destinationId)) continue;
      this.overdue.add(destinationId);
      const minutes = Math.floor(ageMs / 60_000);
      const text = `Ferry: the oldest pending delivery to ${destinationId} has waited ${minutes} minutes (alerts.pendingMinutes: ${this.deps.config.alerts.pendingMinutes}).`;
      // Keyed by when that delivery fell due, which every runner reads alike from the store.
      await this.claim(`pending:${destinationId}:${nowMs - ageMs}`, {
        kind: 'pending',
        destinationId,
        text,
        oldestPendingMinutes: minutes,
      });
    }
  }

  private raise(key: string, alert: Omit<Alert, 'source' | 'at'>, lost?: () => void): void {
    this.enqueue(() => this.claim(key, alert, lost));
  }

  private enqueue(job: () => Promise<void>): void {
    if (this.queue.size >= MAX_QUEUED) {
      this.log.warn({ queued: this.queue.size }, 'alert dropped: too many alerts are waiting to be sent');
      return;
    }
    this.queue.add(job);
  }

  /** Claims the alert's key, then queues it to every target; `lost`: another runner claimed it first. */
  private async claim(key: string, fields: Omit<Alert, 'source' | 'at'>, lost?: () => void): Promise<void> {
    const nowMs = this.deps.clock.now();
    const alert = JSON.stringify({ source: 'ferry', ...fields, at: new Date(nowMs).toISOString() } satisfies Alert);
    const targets = this.targets.length;
    if (!(await this.deps.alerts.claimAlert({ key, alert, targets, owner: this.owner, nowMs, leaseMs: this.tuning.leaseMs }))) {
      lost?.();
      return;
    }
    this.targets.forEach((target, index) => target.offer({ key, target: index, alert }));
  }

  /** Renews this runner's hold on its unsent alerts, takes those left unsent by a stop or a crash, and queues them. */
  private async hold(): Promise<void> {
    const unsent = await this.deps.alerts.holdAlerts({
      owner: this.owner,
      nowMs: this.deps.clock.now(),
      leaseMs: this.tuning.leaseMs,
      limit: MAX_WAITING,
    });
    for (const alert of unsent) await this.offer(alert);
  }

  private async offer(alert: UnsentAlert): Promise<void> {
    const target = this.targets[alert.target];
    if (target) return target.offer(alert);
    // Raised when alerts.targets was longer: the target it was for is gone.
    this.log.warn({ target: `alerts.targets[${alert.target}]` }, 'alert dropped: its target is no longer configured');
    await this.deps.alerts.alertSent(alert.key, alert.target);
  }

  private async pruneClaims(): Promise<void> {
    await this.deps.alerts.pruneAlertClaims(this.deps.clock.now() - ALERT_CLAIMS_KEPT_MS, PRUNE_LIMIT);
  }
}
