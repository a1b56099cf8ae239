import { z } from 'zod';
import { systemClock, type ReplaySelector } from '@ferry/core';
import { portOf, type AdminDeps } from './deps';
import { NotFoundError, queryStore } from './errors';
import { listFilter, listQuery, nextCursor, pageOf, type ListQuery } from './listing';
import { deliveryRow } from './records';
import { ReplayJobs, replayJob, type ReplayJob } from './replay-jobs';
import { routeFor } from './route';
import { idParam, replayableState, time } from './schema';

/** Deliveries: the listing, and replay as background jobs. */

const ids = z.array(z.string().min(1)).min(1).max(10_000);

export const replayRequest = z
  .object({
    deliveryIds: ids.optional().describe('These deliveries.'),
    eventIds: ids.optional().describe('The deliveries of these events.'),
    from: time.optional().describe('The deliveries of events received at or after this time (with `to`).'),
    to: time.optional().describe('…and before this time.'),
    destination: z.string().min(1).optional().describe('Only deliveries to this destination.'),
    states: z.array(replayableState).min(1).optional().describe('Which states to replay (default dead and skipped).'),
  })
  .strict()
  .superRefine((request, ctx) => {
    const forms = [request.deliveryIds, request.eventIds, request.from ?? request.to].filter((form) => form !== undefined);
    if (forms.length !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of deliveryIds, eventIds, or from and to' });
    if (request.from !== undefined && request.to === undefined)
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'required with from' });
    if (request.to !== undefined && request.from === undefined)
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'required with to' });
    if (request.from !== undefined && request.to !== undefined && request.to <= request.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    }
  })
  .meta({ id: 'ReplayRequest', description: 'Which deliveries to replay: by id, by event, or by the time their event was received.' });

/** The store's selector for a replay request: the one reading of it for the replay and its count. */
function replaySelector(parsed: z.output<typeof replayRequest>): ReplaySelector {
  return {
    deliveryIds: parsed.deliveryIds,
    eventIds: parsed.eventIds,
    fromMs: parsed.from,
    toMs: parsed.to,
    destinationId: parsed.destination,
    states: parsed.states,
  };
}

export class DeliveryAdmin {
  private readonly replays: ReplayJobs;

  constructor(private readonly deps: AdminDeps) {
    this.replays = new ReplayJobs(deps.clock ?? systemClock);
  }

  async list(query: ListQuery) {
    const filter = listFilter(query);
    return pageOf(await queryStore(() => portOf(this.deps, 'log').listDeliveries(filter)), filter.limit);
  }

  /**
   * Starts making the selected deliveries pending again with a fresh retry window, in the background.
   * The dispatcher is woken as batches land. `request` is kept on the job as the operator gave it.
   */
  startReplay(parsed: z.output<typeof replayRequest>, request: unknown): ReplayJob {
    const selector = replaySelector(parsed);
    const maintenance = portOf(this.deps, 'maintenance');
    const clock = this.deps.clock ?? systemClock;
    return this.replays.start(request, (progress) => {
      let notified = 0;
      return maintenance.replay(selector, clock.now(), (replayed) => {
        progress(replayed);
        if (replayed > notified) this.deps.dispatcher?.notify(parsed.destination);
        notified = replayed;
      });
    });
  }

  /** How many deliveries the replay would make pending now; changes nothing. */
  async countReplay(parsed: z.output<typeof replayRequest>): Promise<{ count: number }> {
    return { count: await portOf(this.deps, 'maintenance').countReplay(replaySelector(parsed)) };
  }

  /** This process's replay jobs, newest first. */
  jobs(): ReplayJob[] {
    return this.replays.list();
  }

  job(id: string): ReplayJob {
    const job = this.replays.get(id);
    if (!job) throw new NotFoundError(`no replay job with id ${JSON.stringify(id)}`);
    return job;
  }

  /** Waits for a job to end, hearing its running total (the command line prints it). */
  async follow(id: string, onProgress?: (replayed: number) => void): Promise<ReplayJob> {
    return (await this.replays.follow(id, onProgress)) ?? this.job(id);
  }
}

const route = routeFor<DeliveryAdmin>();
const jobAnswer = z.object({ job: replayJob });

export const listDeliveries = route({
  id: 'listDeliveries',
  method: 'GET',
  path: '/deliveries',
  summary: 'Deliveries, newest first, filtered',
  query: listQuery,
  response: z.object({ deliveries: z.array(deliveryRow), next: nextCursor }),
  handle: async (deliveries, { query }) => {
    const { items, next } = await deliveries.list(query);
    return { deliveries: items, next };
  },
});

export const startReplay = route({
  id: 'startReplay',
  method: 'POST',
  path: '/replay',
  summary: 'Make the chosen deliveries pending again with a fresh retry window, as a background job',
  description:
    'Runs in short transactions of at most 500 ids or the deliveries of 500 events, yielding between them. ' +
    'Follow the job with GET /admin/replays/{id}; it lives in the memory of the runner that took the request.',
  body: replayRequest,
  bodyName: 'replay request',
  status: 202,
  response: jobAnswer,
  handle: (deliveries, { body }, raw) => ({ job: deliveries.startReplay(body, raw.body) }),
});

export const countReplay = route({
  id: 'countReplay',
  method: 'POST',
  path: '/replay/count',
  summary: 'How many deliveries POST /admin/replay with this body would make pending now; changes nothing',
  description:
    'The same selector and states (default dead and skipped) as the replay, read the way it finds them: what an ' +
    'operator confirms before replaying by filter. Deliveries may change state between the count and the replay.',
  body: replayRequest,
  bodyName: 'replay request',
  response: z.object({ count: z.number().int().nonnegative() }),
  handle: (deliveries, { body }) => deliveries.countReplay(body),
});

export const listReplays = route({
  id: 'listReplays',
  method: 'GET',
  path: '/replays',
  summary: "This runner's replay jobs, newest first: running ones and the last 50 finished",
  response: z.object({ jobs: z.array(replayJob) }),
  handle: (deliveries) => ({ jobs: deliveries.jobs() }),
});

export const showReplay = route({
  id: 'showReplay',
  method: 'GET',
  path: '/replays/:id',
  summary: 'One replay job of this runner',
  params: z.object({ id: idParam }),
  response: jobAnswer,
  refusals: { 404: 'This runner has no replay job with this id (another runner took it, or it restarted since).' },
  handle: (deliveries, { params }) => ({ job: deliveries.job(params.id) }),
});

export const DELIVERY_ROUTES = [listDeliveries, startReplay, countReplay, listReplays, showReplay];
