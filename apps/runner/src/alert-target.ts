import { setTimeout as delay } from 'node:timers/promises';
import { request, type Agent } from 'undici';
import type { Logger, UnsentAlert } from '@ferry/core';
import type { RunnerConfig } from './config';
import { SerialQueue } from './serial-queue';

/** How alerts are sent; the defaults suit production, tests shorten them. */
export interface AlertTuning {
  /** Timeout of one POST. */
  readonly timeoutMs: number;
  /** Tries per target and alert. */
  readonly attempts: number;
  /** Wait before the first retry, doubled for each further one. */
  readonly backoffMs: number;
  /**
   * How long a runner holds the alerts it is sending, renewed a third of it apart: a crashed runner's unsent
   * alerts are taken over by another runner, or its next start, this long after.
   */
  readonly leaseMs: number;
}

export const DEFAULT_ALERT_TUNING: AlertTuning = { timeoutMs: 5_000, attempts: 3, backoffMs: 1_000, leaseMs: 60_000 };

/** Alerts one target has waiting in memory at most; more wait in the store until there is room. */
export const MAX_WAITING = 100;

export type AlertTargetConfig = RunnerConfig['alerts']['targets'][number];

export interface AlertTargetDeps {
  readonly index: number;
  readonly target: AlertTargetConfig;
  readonly tuning: AlertTuning;
  readonly agent: Agent;
  /** Aborts the requests and backoffs still going when a stop has waited long enough. */
  readonly signal: AbortSignal;
  /** True once the service is stopping: a failed try is not retried, and the alert is left for the next start. */
  readonly stopping: () => boolean;
  readonly log: Logger;
  /** Scrubs every configured secret from text. */
  readonly redact: (text: string) => string;
  /** Records in the store that this target is done with an alert. */
  readonly done: (key: string) => Promise<void>;
}

/**
 * One alert target: its own queue, timeout and retries, so a target that hangs or fails delays only its
 * own alerts. An alert leaves the store's outbox for this target once the target accepted it, refused it
 * for good or every try failed; one interrupted by a stop stays there, for the next start to send.
 */
export class AlertTarget {
  /** How logs name the target: its URL is a secret, every part of it (the host too). */
  readonly label: string;
  /** Keys of the alerts queued or being sent. */
  private readonly queued = new Set<string>();
  private readonly queue: SerialQueue;

  constructor(private readonly deps: AlertTargetDeps) {
    this.label = `alerts.targets[${deps.index}] (${deps.target.format})`;
    this.queue = new SerialQueue((error) =>
      deps.log.error({ target: this.label, error: deps.redact(String((error as Error)?.message ?? error)) }, 'alert failed'),
    );
  }

  /** Queues an alert unless it is queued already or the queue is full (it then waits in the store for the next offer). */
  offer(alert: UnsentAlert): void {
    if (this.queued.has(alert.key) || this.queued.size >= MAX_WAITING) return;
    this.queued.add(alert.key);
    this.queue.add(() => this.deliver(alert).finally(() => this.queued.delete(alert.key)));
  }

  /** Resolves once every alert queued so far has been sent, given up or left for later. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async deliver(unsent: UnsentAlert): Promise<void> {
    if (this.deps.signal.aborted) return; // stopped: it stays in the store
    if ((await this.post(unsent)) === 'done') await this.deps.done(unsent.key);
  }

  private async post(unsent: UnsentAlert): Promise<'done' | 'interrupted'> {
    const { target, tuning, signal } = this.deps;
    const alert = JSON.parse(unsent.alert) as { kind?: string; destinationId?: string; text?: string };
    const body = target.format === 'slack' ? JSON.stringify({ text: alert.text }) : unsent.alert;
    const where = { target: this.label, kind: alert.kind, destinationId: alert.destinationId };
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      let retryable = true;
      try {
        const response = await request(target.url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
          dispatcher: this.deps.agent,
          signal,
          headersTimeout: tuning.timeoutMs,
          bodyTimeout: tuning.timeoutMs,
        });
        await response.body.dump();
        if (response.statusCode >= 200 && response.statusCode < 300) return 'done';
        problem = `HTTP ${response.statusCode}`;
        // Refused (a wrong URL, a revoked hook): another try cannot help.
        retryable = response.statusCode === 429 || response.statusCode >= 500;
      } catch (error) {
        problem = failureOf(error);
      }
      if (retryable && (signal.aborted || this.deps.stopping())) {
        this.deps.log.warn({ ...where, attempts: attempt, problem }, 'alert not sent before the stop: the next start sends it');
        return 'interrupted';
      }
      if (!retryable || attempt >= tuning.attempts) {
        this.deps.log.error({ ...where, attempts: attempt, problem }, 'alert not delivered');
        return 'done';
      }
      await delay(tuning.backoffMs * 2 ** (attempt - 1), undefined, { signal }).catch(() => undefined);
    }
  }
}

/**
 * What went wrong with a request, by its error code alone: a network error's message names the host
 * (`getaddrinfo ENOTFOUND <host>`, `Connect Timeout Error (attempted address: <host>:443 …)`), and a
 * target's host may be its secret.
 */
function failureOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
  return error instanceof Error ? error.name : 'error';
}
