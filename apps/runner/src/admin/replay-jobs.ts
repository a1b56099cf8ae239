import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '@ferry/core';
import type { Answer } from './route';

/** A replay running, or run, in the background: what `POST /admin/replay` answers and `GET /admin/replays` lists. */
export const replayJob = z
  .object({
    id: z.string(),
    state: z.enum(['running', 'done', 'failed']),
    replayed: z.number().int().nonnegative().describe('Deliveries made pending so far.'),
    request: z.unknown().describe('The selector as the operator gave it.'),
    startedAtMs: z.number(),
    finishedAtMs: z.number().optional(),
    error: z.string().optional().describe('Why it failed.'),
  })
  .meta({ id: 'ReplayJob', description: 'A replay running in the background, or run.' });

export type ReplayJob = Answer<typeof replayJob>;

/** Finished jobs kept for listing; running ones are always kept. */
const KEPT_FINISHED = 50;

/**
 * The replay jobs of this process, in memory: a job runs in the process that took the request (with
 * several runners on Postgres, ask that runner about it) and is forgotten at restart. Its deliveries
 * are in the store, so a job cut short by a restart is finished by running the same replay again.
 */
export class ReplayJobs {
  private readonly jobs = new Map<string, ReplayJob>();
  /** Per job, when it ends (it never rejects: a failure is the job's `error`). */
  private readonly endings = new Map<string, Promise<ReplayJob>>();
  private readonly followers = new Map<string, Set<(replayed: number) => void>>();

  constructor(private readonly clock: Clock) {}

  /** Starts `run` in the background; it reports its running total through `onProgress`. Answers the job as it starts. */
  start(request: unknown, run: (onProgress: (replayed: number) => void) => Promise<number>): ReplayJob {
    const id = randomUUID();
    const update = (changes: Partial<ReplayJob>) => {
      const job = { ...this.jobs.get(id)!, ...changes };
      this.jobs.set(id, job);
      return job;
    };
    const job: ReplayJob = { id, state: 'running', replayed: 0, request, startedAtMs: this.clock.now() };
    this.jobs.set(id, job);
    this.forgetOldest();
    const ending = run((replayed) => {
      update({ replayed });
      for (const follower of this.followers.get(id) ?? []) follower(replayed);
    })
      .then(
        (replayed) => update({ state: 'done', replayed, finishedAtMs: this.clock.now() }),
        (error: unknown) => update({ state: 'failed', error: (error as Error)?.message ?? String(error), finishedAtMs: this.clock.now() }),
      )
      .finally(() => this.followers.delete(id));
    this.endings.set(id, ending);
    return job;
  }

  get(id: string): ReplayJob | undefined {
    return this.jobs.get(id);
  }

  /** Newest first. */
  list(): ReplayJob[] {
    return [...this.jobs.values()].reverse();
  }

  /**
   * Waits for a job to end, hearing its running total from now on (at once when it has replayed some
   * already). Undefined for a job this process does not know.
   */
  async follow(id: string, onProgress?: (replayed: number) => void): Promise<ReplayJob | undefined> {
    const job = this.jobs.get(id);
    const ending = this.endings.get(id);
    if (!job || !ending) return job;
    if (onProgress && job.state === 'running') {
      if (job.replayed > 0) onProgress(job.replayed);
      const followers = this.followers.get(id) ?? new Set();
      followers.add(onProgress);
      this.followers.set(id, followers);
    }
    return ending;
  }

  private forgetOldest(): void {
    const finished = [...this.jobs.values()].filter((job) => job.state !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - KEPT_FINISHED))) {
      this.jobs.delete(job.id);
      this.endings.delete(job.id);
    }
  }
}
