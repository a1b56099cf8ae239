import { sql, type Selectable } from 'kysely';
import {
  pageSize,
  unknownCursor,
  type CustomerEvent,
  type ErasureJob,
  type ErasureJobFilter,
  type ErasureJobProgress,
  type ErasureJobs,
  type ErasureJobTake,
  type ErasureSubject,
  type NewErasureJob,
  identityCountOf,
} from '@ferry/core';
import type { ErasureJobsTable } from '../database';
import { userKey } from '../user-key';
import type { SqlContext } from './context';

const JOB_COLUMNS = [
  'id',
  'destinationId',
  'state',
  'subject',
  'identityCount',
  'attempts',
  'nextStep',
  'steps',
  'nextAttemptAtMs',
  'lastAnswer',
  'windowStartMs',
  'createdAtMs',
  'updatedAtMs',
] as const;

type JobRow = Pick<Selectable<ErasureJobsTable>, (typeof JOB_COLUMNS)[number]>;

function jobOf(row: JobRow): ErasureJob {
  return { ...row, subject: row.subject === null ? null : (JSON.parse(row.subject) as ErasureSubject) };
}

/**
 * Erasure jobs on SQL (`ErasureJobs`), in the table of migration 12. Leases and due times are judged by the
 * lease clock (the database's on Postgres), as deliveries' are; on Postgres the take skips rows another runner
 * is taking (`SKIP LOCKED`), so two runners never hold one job.
 */
export class SqlErasureJobs implements ErasureJobs {
  constructor(private readonly context: SqlContext) {}

  async customerEvents(appUserId: string, after: string | undefined, limit: number): Promise<CustomerEvent[]> {
    return this.context.db
      .selectFrom('eventUsers')
      .innerJoin('events', 'events.id', 'eventUsers.eventId')
      .select(['events.id', 'events.source', 'events.body'])
      .where('eventUsers.userKey', '=', userKey(appUserId))
      .$if(after !== undefined, (q) => q.where('eventUsers.eventId', '>', after!))
      .orderBy('eventUsers.eventId')
      .limit(limit)
      .execute();
  }

  async addErasureJobs(jobs: readonly NewErasureJob[], nowMs: number): Promise<void> {
    if (jobs.length === 0) return;
    const now = this.context.dialect.leaseClock(nowMs);
    await this.context.write((trx) =>
      trx
        .insertInto('erasureJobs')
        .values(
          jobs.map((job) => ({
            id: job.id,
            destinationId: job.destinationId,
            state: 'pending' as const,
            subject: JSON.stringify(job.subject),
            identityCount: identityCountOf(job.subject),
            attempts: 0,
            nextStep: 0,
            steps: job.steps,
            nextAttemptAtMs: now,
            lastAnswer: null,
            windowStartMs: nowMs,
            owner: null,
            leaseUntilMs: null,
            createdAtMs: nowMs,
            updatedAtMs: nowMs,
          })),
        )
        .execute(),
    );
  }

  async takeErasureJobs({ owner, destinationIds, nowMs, leaseMs, limit }: ErasureJobTake): Promise<ErasureJob[]> {
    const { dialect } = this.context;
    const now = dialect.leaseClock(nowMs);
    if (destinationIds.length === 0) return [];
    // Every runner asks every second or so: a read first, so an idle store sees no write (on SQLite a write
    // takes the file's one write lock, which the command line beside the runner needs too).
    const work = await this.context.db
      .selectFrom('erasureJobs')
      .select('id')
      .where('state', '=', 'pending')
      .where((eb) =>
        eb.or([
          eb('owner', '=', owner),
          eb.and([
            eb('destinationId', 'in', destinationIds),
            eb('nextAttemptAtMs', '<=', now),
            eb.or([eb('owner', 'is', null), eb('leaseUntilMs', '<', now)]),
          ]),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    if (!work) return [];
    return this.context.write(async (trx) => {
      await trx
        .updateTable('erasureJobs')
        .set({ leaseUntilMs: sql<number>`${now} + ${leaseMs}` })
        .where('owner', '=', owner)
        .where('state', '=', 'pending')
        .execute();
      const free = await trx
        .selectFrom('erasureJobs')
        .select('id')
        .where('state', '=', 'pending')
        .where('destinationId', 'in', destinationIds)
        .where('nextAttemptAtMs', '<=', now)
        .where((eb) => eb.or([eb('owner', 'is', null), eb('leaseUntilMs', '<', now)]))
        .orderBy('nextAttemptAtMs')
        .orderBy('id')
        .limit(limit)
        .$if(dialect.rowLocks, (q) => q.forUpdate().skipLocked())
        .execute();
      if (free.length > 0) {
        await trx
          .updateTable('erasureJobs')
          .set({ owner, leaseUntilMs: sql<number>`${now} + ${leaseMs}` })
          .where(
            'id',
            'in',
            free.map((row) => row.id),
          )
          .execute();
      }
      const held = await trx
        .selectFrom('erasureJobs')
        .select(JOB_COLUMNS)
        .where('owner', '=', owner)
        .where('state', '=', 'pending')
        .orderBy('nextAttemptAtMs')
        .orderBy('id')
        .limit(limit)
        .execute();
      return held.map(jobOf);
    });
  }

  async recordErasureStep(id: string, owner: string, progress: ErasureJobProgress, nowMs: number, leaseMs: number): Promise<boolean> {
    const now = this.context.dialect.leaseClock(nowMs);
    const result = await this.context.write((trx) => {
      const update = trx.updateTable('erasureJobs').where('id', '=', id).where('owner', '=', owner).where('state', '=', 'pending');
      const released = { owner: null, leaseUntilMs: null, updatedAtMs: nowMs, steps: progress.steps };
      switch (progress.type) {
        case 'step': {
          const done = progress.nextStep >= progress.steps;
          return update
            .set({
              nextStep: progress.nextStep,
              steps: progress.steps,
              updatedAtMs: nowMs,
              ...(progress.lastAnswer !== null && { lastAnswer: progress.lastAnswer }),
              ...(done
                ? { state: 'done' as const, subject: null, nextAttemptAtMs: null, owner: null, leaseUntilMs: null }
                : { leaseUntilMs: sql<number>`${now} + ${leaseMs}` }),
            })
            .executeTakeFirst();
        }
        case 'retry':
          return update
            .set((eb) => ({
              ...released,
              attempts: eb('attempts', '+', 1),
              lastAnswer: progress.lastAnswer,
              nextAttemptAtMs: sql<number>`${now} + ${Math.max(0, Math.round(progress.retryInMs))}`,
            }))
            .executeTakeFirst();
        case 'dead':
          return update
            .set((eb) => ({
              ...released,
              state: 'dead' as const,
              attempts: eb('attempts', '+', 1),
              lastAnswer: progress.lastAnswer,
              nextAttemptAtMs: null,
            }))
            .executeTakeFirst();
      }
    });
    return Number(result.numUpdatedRows) > 0;
  }

  async releaseErasureJobs(owner: string): Promise<number> {
    const result = await this.context.write((trx) =>
      trx.updateTable('erasureJobs').set({ owner: null, leaseUntilMs: null }).where('owner', '=', owner).executeTakeFirst(),
    );
    return Number(result.numUpdatedRows);
  }

  async listErasureJobs(filter: ErasureJobFilter): Promise<ErasureJob[]> {
    const { db } = this.context;
    let cursor: { createdAtMs: number; id: string } | undefined;
    if (filter.before !== undefined) {
      cursor = await db.selectFrom('erasureJobs').select(['createdAtMs', 'id']).where('id', '=', filter.before).executeTakeFirst();
      if (!cursor) throw unknownCursor('erasure job', filter.before);
    }
    const rows = await db
      .selectFrom('erasureJobs')
      .select(JOB_COLUMNS)
      .$if(filter.state !== undefined, (q) => q.where('state', '=', filter.state!))
      .$if(filter.destinationId !== undefined, (q) => q.where('destinationId', '=', filter.destinationId!))
      .$if(cursor !== undefined, (q) =>
        q.where(({ eb, refTuple, tuple }) => eb(refTuple('createdAtMs', 'id'), '<', tuple(cursor!.createdAtMs, cursor!.id))),
      )
      .orderBy('createdAtMs', 'desc')
      .orderBy('id', 'desc')
      .limit(pageSize(filter.limit))
      .execute();
    return rows.map(jobOf);
  }

  async getErasureJob(id: string): Promise<ErasureJob | undefined> {
    const row = await this.context.db.selectFrom('erasureJobs').select(JOB_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row && jobOf(row);
  }

  async retryErasureJob(id: string, nowMs: number): Promise<ErasureJob | undefined> {
    const now = this.context.dialect.leaseClock(nowMs);
    const result = await this.context.write((trx) =>
      trx
        .updateTable('erasureJobs')
        .set({
          state: 'pending',
          attempts: 0,
          nextAttemptAtMs: now,
          windowStartMs: nowMs,
          owner: null,
          leaseUntilMs: null,
          updatedAtMs: nowMs,
        })
        .where('id', '=', id)
        .where('state', '=', 'dead')
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0 ? this.getErasureJob(id) : undefined;
  }
}
