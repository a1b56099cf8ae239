import {
  identityCountOf,
  pageSize,
  unknownCursor,
  type CustomerEvent,
  type ErasureJob,
  type ErasureJobFilter,
  type ErasureJobProgress,
  type ErasureJobs,
  type ErasureJobTake,
  type NewErasureJob,
} from '@ferry/core';
import type { MemoryConnection, MemoryErasureJob } from './database';

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Erasure jobs in memory (the SQL stores' erasure_jobs), each change a transaction of the database's. */
export class MemoryErasureJobs implements ErasureJobs {
  constructor(private readonly connection: MemoryConnection) {}

  private get database() {
    return this.connection.database;
  }

  async customerEvents(appUserId: string, after: string | undefined, limit: number): Promise<CustomerEvent[]> {
    this.connection.open();
    return [...this.database.eventUsers]
      .filter(([eventId, users]) => users.has(appUserId) && (after === undefined || eventId > after))
      .map(([eventId]) => eventId)
      .sort(byId)
      .slice(0, limit)
      .map((eventId) => {
        const { id, source, body } = this.database.events.get(eventId)!;
        return { id, source, body };
      });
  }

  addErasureJobs(jobs: readonly NewErasureJob[], nowMs: number): Promise<void> {
    this.connection.open();
    return this.database.transaction(() => {
      for (const job of jobs) {
        if (this.database.erasureJobs.has(job.id)) throw new Error(`an erasure job with id ${job.id} exists`);
      }
      for (const job of jobs) {
        this.database.erasureJobs.set(job.id, {
          id: job.id,
          destinationId: job.destinationId,
          state: 'pending',
          subject: structuredClone(job.subject),
          identityCount: identityCountOf(job.subject),
          attempts: 0,
          nextStep: 0,
          steps: job.steps,
          nextAttemptAtMs: nowMs,
          lastAnswer: null,
          windowStartMs: nowMs,
          owner: null,
          leaseUntilMs: null,
          createdAtMs: nowMs,
          updatedAtMs: nowMs,
        });
      }
    });
  }

  takeErasureJobs({ owner, destinationIds, nowMs, leaseMs, limit }: ErasureJobTake): Promise<ErasureJob[]> {
    this.connection.open();
    return this.database.transaction(() => {
      const jobs = this.database.erasureJobs;
      const pending = [...jobs.values()].filter((job) => job.state === 'pending');
      for (const job of pending) if (job.owner === owner) jobs.set(job.id, { ...job, leaseUntilMs: nowMs + leaseMs });
      const free = pending
        .filter(
          (job) =>
            destinationIds.includes(job.destinationId) &&
            job.nextAttemptAtMs! <= nowMs &&
            (job.owner === null || job.leaseUntilMs! < nowMs),
        )
        .sort(dueFirst)
        .slice(0, limit);
      for (const job of free) jobs.set(job.id, { ...job, owner, leaseUntilMs: nowMs + leaseMs });
      return [...jobs.values()]
        .filter((job) => job.state === 'pending' && job.owner === owner)
        .sort(dueFirst)
        .slice(0, limit)
        .map(publicJob);
    });
  }

  recordErasureStep(id: string, owner: string, progress: ErasureJobProgress, nowMs: number, leaseMs: number): Promise<boolean> {
    this.connection.open();
    return this.database.transaction(() => {
      const job = this.database.erasureJobs.get(id);
      if (!job || job.owner !== owner || job.state !== 'pending') return false;
      const released = { owner: null, leaseUntilMs: null, updatedAtMs: nowMs, steps: progress.steps };
      let next: MemoryErasureJob;
      switch (progress.type) {
        case 'step': {
          const done = progress.nextStep >= progress.steps;
          next = {
            ...job,
            nextStep: progress.nextStep,
            steps: progress.steps,
            updatedAtMs: nowMs,
            lastAnswer: progress.lastAnswer ?? job.lastAnswer,
            ...(done
              ? { state: 'done' as const, subject: null, nextAttemptAtMs: null, owner: null, leaseUntilMs: null }
              : { leaseUntilMs: nowMs + leaseMs }),
          };
          break;
        }
        case 'retry':
          next = {
            ...job,
            ...released,
            attempts: job.attempts + 1,
            lastAnswer: progress.lastAnswer,
            nextAttemptAtMs: nowMs + Math.max(0, Math.round(progress.retryInMs)),
          };
          break;
        case 'dead':
          next = { ...job, ...released, state: 'dead', attempts: job.attempts + 1, lastAnswer: progress.lastAnswer, nextAttemptAtMs: null };
          break;
      }
      this.database.erasureJobs.set(id, next);
      return true;
    });
  }

  releaseErasureJobs(owner: string): Promise<number> {
    this.connection.open();
    return this.database.transaction(() => {
      let released = 0;
      for (const job of this.database.erasureJobs.values()) {
        if (job.owner !== owner) continue;
        this.database.erasureJobs.set(job.id, { ...job, owner: null, leaseUntilMs: null });
        released += 1;
      }
      return released;
    });
  }

  async listErasureJobs(filter: ErasureJobFilter): Promise<ErasureJob[]> {
    this.connection.open();
    const jobs = this.database.erasureJobs;
    const cursor = filter.before === undefined ? undefined : jobs.get(filter.before);
    if (filter.before !== undefined && !cursor) throw unknownCursor('erasure job', filter.before);
    const newestFirst = (a: ErasureJob, b: ErasureJob) => b.createdAtMs - a.createdAtMs || byId(b.id, a.id);
    return [...jobs.values()]
      .filter(
        (job) =>
          (filter.state === undefined || job.state === filter.state) &&
          (filter.destinationId === undefined || job.destinationId === filter.destinationId) &&
          (cursor === undefined || newestFirst(cursor, job) < 0),
      )
      .sort(newestFirst)
      .slice(0, pageSize(filter.limit))
      .map(publicJob);
  }

  async getErasureJob(id: string): Promise<ErasureJob | undefined> {
    this.connection.open();
    const job = this.database.erasureJobs.get(id);
    return job && publicJob(job);
  }

  retryErasureJob(id: string, nowMs: number): Promise<ErasureJob | undefined> {
    this.connection.open();
    return this.database.transaction(() => {
      const job = this.database.erasureJobs.get(id);
      if (!job || job.state !== 'dead') return undefined;
      const next: MemoryErasureJob = {
        ...job,
        state: 'pending',
        attempts: 0,
        nextAttemptAtMs: nowMs,
        windowStartMs: nowMs,
        owner: null,
        leaseUntilMs: null,
        updatedAtMs: nowMs,
      };
      this.database.erasureJobs.set(id, next);
      return publicJob(next);
    });
  }
}

function dueFirst(a: ErasureJob, b: ErasureJob): number {
  return a.nextAttemptAtMs! - b.nextAttemptAtMs! || byId(a.id, b.id);
}

function publicJob({ owner: _owner, leaseUntilMs: _lease, ...job }: MemoryErasureJob): ErasureJob {
  return structuredClone(job);
}
