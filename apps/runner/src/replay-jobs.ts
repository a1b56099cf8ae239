import { randomUUID } from 'node:crypto';
import type { Clock } from '@ferry/core';

/** A replay running, or run, in the background: what `POST /admin/replay` answers and `GET /admin/replays` lists. */
export interface ReplayJob {
  readonly id: string;
  readonly state: 'running' | 'done' | 'failed';
  /** Deliveries made pending so far. */
  readonly replayed: number;
  /** The selector as the operator gave it. */
  readonly request: unknown;
  readonly startedAtMs: number;
  readonly finishedAtMs?: number;
  readonly error?: string;
}

export interface StartedReplay {
  readonly job: ReplayJob;
  /** Settles when the job has finished, with its final state (it never rejects: a failure is the job's `error`). */
  readonly finished: Promise<ReplayJob>;
}

/** Finished jobs kept for listing; running ones are always kept. */
const KEPT_FINISHED = 50;

/**
 * The replay jobs of this process, in memory: a job runs in the process that took the request (with
 * several runners on Postgres, ask that runner about it) and is forgotten at restart. Its deliveries
 * are in the store, so a job cut short by a restart is finished by running the same replay again.
 */
export class ReplayJobs {
  private readonly jobs = new Map<string, ReplayJob>();

  constructor(private readonly clock: Clock) {}

  /** Starts `run` in the background; it reports its running total through `onProgress`. */
  start(request: unknown, run: (onProgress: (replayed: number) => void) => Promise<number>): StartedReplay {
    const id = randomUUID();
    const update = (changes: Partial<ReplayJob>) => {
      const job = { ...this.jobs.get(id)!, ...changes };
      this.jobs.set(id, job);
      return job;
    };
    const job: ReplayJob = { id, state: 'running', replayed: 0, request, startedAtMs: this.clock.now() };
    this.jobs.set(id, job);
    this.forgetOldest();
    const finished = run((replayed) => void update({ replayed })).then(
      (replayed) => update({ state: 'done', replayed, finishedAtMs: this.clock.now() }),
      (error: unknown) => update({ state: 'failed', error: (error as Error)?.message ?? String(error), finishedAtMs: this.clock.now() }),
    );
    return { job, finished };
  }

  get(id: string): ReplayJob | undefined {
    return this.jobs.get(id);
  }

  /** Newest first. */
  list(): ReplayJob[] {
    return [...this.jobs.values()].reverse();
  }

  private forgetOldest(): void {
    const finished = [...this.jobs.values()].filter((job) => job.state !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - KEPT_FINISHED))) this.jobs.delete(job.id);
  }
}
