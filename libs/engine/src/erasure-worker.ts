import { randomUUID } from 'node:crypto';
import {
  DEFAULT_RETRY_POLICY,
  redactText,
  retriesExhausted,
  retryDelayMs,
  subjectIds,
  type Clock,
  type ErasureAnswer,
  type ErasureJob,
  type ErasureJobProgress,
  type ErasureJobs,
  type HttpRequest,
  type HttpResult,
  type Logger,
  type RetryPolicy,
  type Transport,
} from '@ferry/core';
import { erasureMissingConfigOf, secretValues, type DestinationInstance } from './instance';
import { LEASE_PER_TIMEOUT } from './options';
import { WakeableSleep } from './wakeable-sleep';
import { redactUserIds } from './user-ids';

/** What became of a job after one of its requests, as `ferry_erasures_total{destination,outcome}` counts it. */
export type ErasureOutcome = 'done' | 'retry' | 'dead';

export interface ErasureWorkerOptions {
  /** The holder of its jobs' leases (the runner's id). */
  readonly ownerId: string;
  /** How long a job's lease lasts; each request recorded renews it. At least 1.5 × every destination's timeout. */
  readonly leaseMs: number;
  /** How often it looks for due jobs when idle (sooner on `notify`). */
  readonly pollMs: number;
  readonly retryPolicy: RetryPolicy;
}

export interface ErasureWorkerDeps {
  readonly jobs: ErasureJobs;
  readonly destinations: readonly DestinationInstance[];
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random?: () => number;
  readonly options?: Partial<ErasureWorkerOptions>;
  /** Hears each job's outcome after a request (for metrics); must not block. */
  readonly observer?: (destinationId: string, outcome: ErasureOutcome) => void;
}

const DEFAULT_OPTIONS: Omit<ErasureWorkerOptions, 'ownerId'> = { leaseMs: 60_000, pollMs: 1_000, retryPolicy: DEFAULT_RETRY_POLICY };

/** The longest last answer kept with a job. */
const MAX_ANSWER_CHARS = 2_000;

/**
 * Erasure at the destinations (SPEC §15): takes due erasure jobs of the configured destinations, one at a time,
 * and sends each job's requests (its plugin's `erasure.requests`, built from the current settings) one after
 * the other through the transport, reading each with `erasure.readAnswer`. A done request moves the job to the
 * next, and the job is done (its subject forgotten) after the last; a retry waits the delivery backoff (honouring
 * Retry-After) and resumes at the request that failed; a failure, or a retry past both retry limits, ends it dead
 * with the answer. The job's lease keeps other runners off it; a stop releases it, a crash lets it lapse. Log
 * lines and stored answers carry no identity of the job and no secret.
 */
export class ErasureWorker {
  private readonly options: ErasureWorkerOptions;
  private readonly byId: ReadonlyMap<string, DestinationInstance>;
  private readonly log: Logger;
  private readonly random: () => number;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly sleeper = new WakeableSleep();

  constructor(private readonly deps: ErasureWorkerDeps) {
    const given = Object.entries(deps.options ?? {}).filter(([, value]) => value !== undefined);
    this.options = { ownerId: `erasures-${randomUUID()}`, ...DEFAULT_OPTIONS, ...Object.fromEntries(given) };
    this.byId = new Map(deps.destinations.map((destination) => [destination.id, destination]));
    for (const destination of deps.destinations) {
      if (this.options.leaseMs < LEASE_PER_TIMEOUT * destination.timeoutMs)
        throw new Error(
          `leaseMs (${this.options.leaseMs}) must be at least ${LEASE_PER_TIMEOUT} × the timeoutMs of destination "${destination.id}" (${destination.timeoutMs})`,
        );
    }
    this.log = deps.logger.child({ component: 'erasures' });
    this.random = deps.random ?? Math.random;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.loop();
  }

  /** New jobs exist: look now instead of at the next poll. */
  notify(): void {
    this.sleeper.wake();
  }

  /** Finishes the request in flight and records it, then lets go of the jobs it holds. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.sleeper.wake();
    await this.running;
    await this.deps.jobs
      .releaseErasureJobs(this.options.ownerId)
      .catch((error: unknown) =>
        this.log.warn(
          { error: String((error as Error)?.message ?? error) },
          'could not release erasure jobs; another runner takes them once their lease runs out',
        ),
      );
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let worked = false;
      try {
        worked = await this.runOnce();
      } catch (error) {
        this.log.error({ error: String((error as Error)?.message ?? error) }, 'erasure step failed; trying again');
      }
      if (!worked && !this.stopped) await this.sleeper.sleep(this.options.pollMs);
    }
  }

  /** Takes one due job and works it; answers whether there was one. Tests call it to run a step at once. */
  async runOnce(): Promise<boolean> {
    const [job] = await this.deps.jobs.takeErasureJobs({
      owner: this.options.ownerId,
      destinationIds: [...this.byId.keys()],
      nowMs: this.deps.clock.now(),
      leaseMs: this.options.leaseMs,
      limit: 1,
    });
    if (!job) return false;
    await this.work(job);
    return true;
  }

  private async work(job: ErasureJob): Promise<void> {
    const destination = this.byId.get(job.destinationId)!;
    const erasure = destination.plugin.erasure;
    const ids = job.subject ? subjectIds(job.subject) : [];
    const answerText = (text: string) => redactUserIds(redactText(text, secretValues(destination)), ids).slice(0, MAX_ANSWER_CHARS);
    const fail = (reason: string, steps: number) => this.record(job, { type: 'dead', lastAnswer: answerText(reason), steps });

    if (!erasure) return void (await fail(`the plugin ${destination.plugin.id} cannot erase`, job.steps));
    const missing = erasureMissingConfigOf(destination);
    if (missing.length > 0) return void (await fail(`the destination's settings lack ${missing.join(', ')}`, job.steps));
    let requests: HttpRequest[];
    try {
      requests = job.subject ? erasure.requests(job.subject, destination.settings) : [];
    } catch (error) {
      return void (await fail(`plugin error: ${String((error as Error)?.message ?? error)}`, job.steps));
    }
    const steps = requests.length;
    if (job.nextStep >= steps) {
      await this.record(job, { type: 'step', nextStep: steps, steps, lastAnswer: null });
      return;
    }
    for (let step = job.nextStep; step < steps; step++) {
      const request = requests[step];
      const result = await this.deps.transport.send(request, destination.timeoutMs);
      let answer: ErasureAnswer;
      try {
        answer = erasure.readAnswer(request, result, destination.settings);
      } catch (error) {
        answer = { type: 'failed', reason: `plugin error: ${String((error as Error)?.message ?? error)}` };
      }
      const lastAnswer = answerText(describeAnswer(answer, result));
      if (answer.type === 'done') {
        if (!(await this.record(job, { type: 'step', nextStep: step + 1, steps, lastAnswer }, step))) return;
        continue;
      }
      if (answer.type === 'failed') return void (await this.record(job, { type: 'dead', lastAnswer, steps }, step));
      const attempts = job.attempts + 1;
      const nowMs = this.deps.clock.now();
      if (retriesExhausted(this.options.retryPolicy, attempts, job.windowStartMs, nowMs)) {
        return void (await this.record(job, { type: 'dead', lastAnswer, steps }, step));
      }
      const retryInMs = retryDelayMs(this.options.retryPolicy, attempts, this.random, answer.retryAfterMs);
      return void (await this.record(job, { type: 'retry', retryInMs, lastAnswer, steps }, step));
    }
  }

  /** Records one request's outcome; false when another runner has taken the job over (it goes on from there). */
  private async record(job: ErasureJob, progress: ErasureJobProgress, step?: number): Promise<boolean> {
    const held = await this.deps.jobs.recordErasureStep(
      job.id,
      this.options.ownerId,
      progress,
      this.deps.clock.now(),
      this.options.leaseMs,
    );
    const fields = { job: job.id, destination: job.destinationId, step: step === undefined ? undefined : step + 1, steps: progress.steps };
    if (!held) {
      this.log.warn(fields, 'erasure job taken over by another runner; leaving it to it');
      return false;
    }
    const outcome: ErasureOutcome | undefined =
      progress.type === 'step' ? (progress.nextStep >= progress.steps ? 'done' : undefined) : progress.type;
    if (outcome === undefined) return true;
    this.deps.observer?.(job.destinationId, outcome);
    if (outcome === 'done') this.log.info(fields, 'erasure job done: the destination deleted the customer');
    else if (outcome === 'retry') this.log.warn({ ...fields, answer: progress.lastAnswer }, 'erasure request failed; retrying later');
    else this.log.error({ ...fields, answer: progress.lastAnswer }, 'erasure job dead');
    return true;
  }
}

/** A request's answer in a few words, for the job's last answer (redacted by the caller). */
function describeAnswer(answer: ErasureAnswer, result: HttpResult): string {
  if (answer.type !== 'done') return answer.reason;
  const status = answer.status ?? (result.kind === 'response' ? result.status : undefined);
  return status === undefined ? 'done' : `done: HTTP ${status}`;
}
