import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  ERASURE_JOB_STATES,
  subjectIds,
  systemClock,
  userIdsOf,
  type ErasureJob,
  type ErasureSubject,
  type Identity,
  type NewErasureJob,
} from '@ferry/core';
import { erasureMissingConfigOf, type DestinationInstance } from '@ferry/engine';
import { numeric } from '../input';
import { storedEventDecoder } from '../sources';
import { portOf, type AdminDeps } from './deps';
import { ConflictError, NotFoundError, queryStore } from './errors';
import { nextCursor, pageOf } from './listing';
import { routeFor, type Answer } from './route';
import { idParam } from './schema';

/**
 * Erasure: a privacy request removes what the store keeps of a user and, when asked, what each destination
 * keeps of them too (SPEC §9, §15): one durable job per destination whose plugin can erase, worked by the
 * runners' erasure worker. The user's ids are never logged, and the job listing shows them masked.
 */

export const eraseRequest = z
  .object({
    appUserId: z.string().min(1).describe('The user: as app user id, original app user id, alias or transfer party.'),
    destinations: z
      .boolean()
      .optional()
      .describe(
        'Also ask every configured destination whose plugin can erase to delete the user (a durable job each, see GET /admin/erasures).',
      ),
  })
  .strict()
  .meta({ id: 'EraseRequest' });

/** What became of the erasure at one destination, as the erase answers it. */
export const REMOTE_ERASURE_STATES = ['pending', 'skipped', 'not supported'] as const;

const remoteErasure = z
  .object({
    destination: z.string(),
    state: z
      .enum(REMOTE_ERASURE_STATES)
      .describe(
        'pending: a job will delete the user there; skipped: its settings lack what erasing needs (see reason); not supported: its plugin cannot erase.',
      ),
    job: z.string().optional().describe('The job, for pending: see GET /admin/erasures.'),
    reason: z.string().optional(),
  })
  .meta({ id: 'RemoteErasure', description: 'The erasure at one configured destination.' });

const eraseAnswer = z.object({
  erased: z.number().int().nonnegative().describe('How many events were removed.'),
  remote: z.array(remoteErasure).optional().describe('With `destinations: true`: per configured destination, what happens there.'),
});

export const erasureJobState = z.enum(ERASURE_JOB_STATES).meta({ id: 'ErasureJobState', description: "An erasure job's state." });

export const erasureJobView = z
  .object({
    id: z.string(),
    destination: z.string(),
    destinationConfigured: z
      .boolean()
      .describe('False when the config no longer names the destination: its pending job waits until it does again.'),
    state: erasureJobState,
    attempts: z.number().int().nonnegative().describe('Requests answered with anything but done (retries and the final failure).'),
    step: z.number().int().nonnegative().describe('Requests done so far; the next one sent is the one after.'),
    steps: z.number().int().nonnegative().describe('Requests the erasure takes.'),
    lastAnswer: z.string().nullable().describe("The destination's last answer, without secrets or the user's ids."),
    identities: z
      .object({
        count: z.number().int().nonnegative(),
        masked: z
          .array(z.string())
          .describe('Each id masked (first and last character); empty once the job is done, when the store keeps none.'),
      })
      .describe('The app user ids and destination identities to delete.'),
    nextAttemptAtMs: z.number().nullable(),
    createdAtMs: z.number(),
    updatedAtMs: z.number(),
  })
  .meta({ id: 'ErasureJobView', description: "A user's erasure at one destination." });

export type ErasureJobView = Answer<typeof erasureJobView>;

const MAX_LIMIT = 500;
const DEFAULT_LIMIT = 50;

export const erasureListQuery = z
  .object({
    state: erasureJobState.optional(),
    destination: z.string().min(1).optional().describe('Only jobs of this destination.'),
    limit: numeric(z.number().int().min(1).max(MAX_LIMIT).optional()).describe(`At most this many (default ${DEFAULT_LIMIT}).`),
    before: z.string().min(1).optional().describe("The previous page's `next`: the page after it."),
  })
  .strict();

/** Events read at a time while gathering what a user's erasure deletes. */
const GATHER_PAGE = 500;

/** An id as the listing shows it: its first and last character, or nothing of a short one. */
export function maskId(id: string): string {
  const characters = [...id];
  return characters.length <= 4 ? '…' : `${characters[0]}…${characters[characters.length - 1]}`;
}

export class ErasureAdmin {
  constructor(private readonly deps: AdminDeps) {}

  /**
   * Removes every event naming the user (see Maintenance.erase); with `destinations`, first gathers what each
   * destination was sent for the user and adds its job. The user id is not logged: the log would keep what
   * the store no longer does.
   */
  async erase({ appUserId, destinations }: z.output<typeof eraseRequest>): Promise<z.output<typeof eraseAnswer>> {
    const remote = destinations ? await this.addRemoteJobs(appUserId) : undefined;
    const erased = await queryStore(() => portOf(this.deps, 'maintenance').erase(appUserId));
    return remote ? { erased, remote } : { erased };
  }

  /** Per configured destination: a job (pending), or why none. Read before the local rows go. */
  private async addRemoteJobs(appUserId: string): Promise<z.output<typeof remoteErasure>[]> {
    const remote: z.output<typeof remoteErasure>[] = [];
    const erasing: DestinationInstance[] = [];
    for (const destination of this.deps.destinations) {
      const missing = erasureMissingConfigOf(destination);
      if (!destination.plugin.erasure)
        remote.push({ destination: destination.id, state: 'not supported', reason: `the plugin ${destination.plugin.id} cannot erase` });
      else if (missing.length > 0)
        remote.push({ destination: destination.id, state: 'skipped', reason: `its settings lack ${missing.join(', ')}` });
      else erasing.push(destination);
    }
    if (erasing.length === 0) return remote;
    const subjects = await this.gatherSubjects(appUserId, erasing);
    const jobs: NewErasureJob[] = erasing.map((destination) => {
      const subject = subjects.get(destination.id)!;
      return { id: randomUUID(), destinationId: destination.id, subject, steps: stepsOf(destination, subject) };
    });
    await portOf(this.deps, 'erasures').addErasureJobs(jobs, (this.deps.clock ?? systemClock).now());
    this.deps.erasureWorker?.notify();
    for (const job of jobs) remote.push({ destination: job.destinationId, state: 'pending', job: job.id });
    return remote.sort((a, b) => this.order(a.destination) - this.order(b.destination));
  }

  private order(destinationId: string): number {
    return this.deps.destinations.findIndex((destination) => destination.id === destinationId);
  }

  /**
   * Each destination's subject: every app user id the user's events name (the user's own included), and what the
   * destination's `identity` hook answers for each of those events, each once. An event whose source is no longer
   * configured cannot be read: its ids beyond the user's own are not gathered.
   */
  private async gatherSubjects(appUserId: string, destinations: readonly DestinationInstance[]): Promise<Map<string, ErasureSubject>> {
    const decode = storedEventDecoder(this.deps.sources ?? []);
    const appUserIds = new Set([appUserId]);
    const identities = new Map(destinations.map((destination) => [destination.id, new Map<string, Identity>()]));
    const jobs = portOf(this.deps, 'erasures');
    for (let after: string | undefined; ;) {
      const page = await jobs.customerEvents(appUserId, after, GATHER_PAGE);
      if (page.length === 0) break;
      after = page[page.length - 1].id;
      for (const stored of page) {
        let event;
        try {
          event = decode(stored.body, stored.source);
        } catch {
          continue;
        }
        for (const id of userIdsOf(event)) appUserIds.add(id);
        for (const destination of destinations) {
          const identity = identityOf(destination, event);
          if (identity) identities.get(destination.id)!.set(JSON.stringify(Object.entries(identity).sort()), identity);
        }
      }
      if (page.length < GATHER_PAGE) break;
    }
    return new Map(
      destinations.map((destination) => [
        destination.id,
        { appUserIds: [...appUserIds], identities: [...identities.get(destination.id)!.values()] },
      ]),
    );
  }

  async list(query: z.output<typeof erasureListQuery>): Promise<{ jobs: ErasureJobView[]; next?: string }> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await queryStore(() =>
      portOf(this.deps, 'erasures').listErasureJobs({ state: query.state, destinationId: query.destination, before: query.before, limit }),
    );
    const { items, next } = pageOf(rows, limit);
    return { jobs: items.map((job) => this.view(job)), ...(next !== undefined && { next }) };
  }

  /** Makes a dead job pending again, due now with a fresh retry window. */
  async retry(id: string): Promise<{ job: ErasureJobView }> {
    const jobs = portOf(this.deps, 'erasures');
    const retried = await jobs.retryErasureJob(id, (this.deps.clock ?? systemClock).now());
    if (retried) {
      this.deps.erasureWorker?.notify();
      return { job: this.view(retried) };
    }
    const job = await jobs.getErasureJob(id);
    if (!job) throw new NotFoundError(`no erasure job with id ${JSON.stringify(id)}`);
    throw new ConflictError(`erasure job ${JSON.stringify(id)} is ${job.state}; only a dead job can be retried`);
  }

  /** A job as the API shows it: its ids masked, none once it is done. */
  view(job: ErasureJob): ErasureJobView {
    return {
      id: job.id,
      destination: job.destinationId,
      destinationConfigured: this.deps.destinations.some((destination) => destination.id === job.destinationId),
      state: job.state,
      attempts: job.attempts,
      step: job.nextStep,
      steps: job.steps,
      lastAnswer: job.lastAnswer,
      identities: { count: job.identityCount, masked: job.subject ? subjectIds(job.subject).map(maskId) : [] },
      nextAttemptAtMs: job.nextAttemptAtMs,
      createdAtMs: job.createdAtMs,
      updatedAtMs: job.updatedAtMs,
    };
  }
}

/** The destination's identity for one of the user's events, or none when its plugin cannot tell (it names no one). */
function identityOf(
  destination: DestinationInstance,
  event: Parameters<DestinationInstance['plugin']['identity']>[0],
): Identity | undefined {
  try {
    const identity = Object.fromEntries(
      Object.entries(destination.plugin.identity(event, destination.settings)).filter(([, value]) => value !== ''),
    );
    return Object.keys(identity).length > 0 ? identity : undefined;
  } catch {
    return undefined;
  }
}

/** How many requests the subject takes at the destination now (the listing's total; the worker builds them again). */
function stepsOf(destination: DestinationInstance, subject: ErasureSubject): number {
  try {
    return destination.plugin.erasure!.requests(subject, destination.settings).length;
  } catch {
    return 0;
  }
}

const route = routeFor<ErasureAdmin>();

export const eraseUser = route({
  id: 'eraseUser',
  method: 'POST',
  path: '/erase',
  summary: "A privacy request: remove every stored event naming the user, with its deliveries, attempts and the user's state marks",
  description:
    'Events whose app_user_id, original_app_user_id, aliases, transferred_from or transferred_to hold the id go, ' +
    'webhook bodies included, whatever their deliveries’ states; pending ones are never sent afterwards. With ' +
    '`destinations: true`, every configured destination whose plugin can erase gets a durable job deleting every id ' +
    'Ferry sent it for the user (gathered before the local rows go); the answer does not wait for them.',
  body: eraseRequest,
  bodyName: 'erase request',
  response: eraseAnswer,
  handle: (erasure, { body }) => erasure.erase(body),
});

export const listErasures = route({
  id: 'listErasures',
  method: 'GET',
  path: '/erasures',
  summary: 'Erasure jobs at the destinations, newest first, their ids masked',
  query: erasureListQuery,
  response: z.object({ jobs: z.array(erasureJobView), next: nextCursor }),
  handle: (erasure, { query }) => erasure.list(query),
});

export const retryErasure = route({
  id: 'retryErasure',
  method: 'POST',
  path: '/erasures/:id/retry',
  summary: 'Makes a dead erasure job pending again, due now with a fresh retry window',
  params: z.object({ id: idParam }),
  response: z.object({ job: erasureJobView }),
  refusals: { 404: 'No erasure job has this id.', 409: 'The job is not dead.' },
  handle: (erasure, { params }) => erasure.retry(params.id),
});

export const ERASURE_ROUTES = [eraseUser, listErasures, retryErasure];
