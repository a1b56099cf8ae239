import { z } from 'zod';
import { systemClock, type DeliveryState, type Reassignment, type StoreStats } from '@ferry/core';
import { portOf, type AdminDeps } from './deps';
import { zeroCounts } from './destinations';
import { InputError, parseInput } from './errors';
import { routeFor, type Answer } from './route';
import { countsByState, idParam, mirrors } from './schema';

/** Orphans: deliveries of destination ids the config no longer names, and the operator's drop or reassign. */

export const orphanView = z
  .object({ destinationId: z.string(), deliveries: countsByState })
  .meta({ id: 'OrphanView', description: 'Deliveries of a destination id the config no longer names.' });

export type OrphanView = Answer<typeof orphanView>;

export const reassignRequest = z
  .object({ to: z.string().describe('A configured destination.') })
  .strict()
  .meta({ id: 'ReassignRequest' });

const reassignment = mirrors<Reassignment>()(
  z.object({
    reassigned: z.number().int().nonnegative().describe('Moved to the new destination, pending and due at once with a fresh retry window.'),
    kept: z
      .number()
      .int()
      .nonnegative()
      .describe('Left waiting with the old destination: their event already has a delivery to the new one, which keeps its own.'),
  }),
);

export class OrphanAdmin {
  constructor(private readonly deps: AdminDeps) {}

  /** Destinations the store has deliveries for but the config no longer names, with their counts by state. */
  async list(): Promise<OrphanView[]> {
    return this.views(await portOf(this.deps, 'log').stats((this.deps.clock ?? systemClock).now()));
  }

  views(stats: StoreStats): OrphanView[] {
    const configured = new Set(this.deps.destinations.map((destination) => destination.id));
    const orphans = new Map<string, Record<DeliveryState, number>>();
    for (const { destinationId, state, count } of stats.deliveries) {
      if (configured.has(destinationId)) continue;
      const deliveries = orphans.get(destinationId) ?? zeroCounts();
      deliveries[state] = count;
      orphans.set(destinationId, deliveries);
    }
    return [...orphans].map(([destinationId, deliveries]) => ({ destinationId, deliveries }));
  }

  /** Makes an orphaned destination's waiting deliveries final: skipped, rule `destination_removed`, still listed. */
  async drop(destinationId: string): Promise<{ dropped: number }> {
    this.orphanId(destinationId);
    return { dropped: await portOf(this.deps, 'maintenance').dropOrphans(destinationId, (this.deps.clock ?? systemClock).now()) };
  }

  /** Moves an orphaned destination's waiting deliveries to a configured one, which is woken to send them. */
  async reassign(destinationId: string, { to }: z.output<typeof reassignRequest>): Promise<Reassignment> {
    this.orphanId(destinationId);
    const configured = this.deps.destinations.map((destination) => destination.id);
    // Which ids are configured is known only here: the request's schema takes any text.
    const toConfigured = z.object({
      to: z.string().refine((id) => configured.includes(id), {
        error: `must be a configured destination: ${configured.map((id) => JSON.stringify(id)).join(', ') || 'none is configured'}`,
      }),
    });
    parseInput(toConfigured, { to }, 'reassign request');
    const result = await portOf(this.deps, 'maintenance').reassignOrphans(destinationId, to, (this.deps.clock ?? systemClock).now());
    if (result.reassigned > 0) this.deps.dispatcher?.notify(to);
    return result;
  }

  /** Only a destination the config does not name is an orphan: a configured one's deliveries are its loop's. */
  private orphanId(destinationId: string): void {
    if (this.deps.destinations.some((destination) => destination.id === destinationId)) {
      throw new InputError('not an orphan', [
        {
          path: 'destinationId',
          message: `"${destinationId}" is a configured destination; only deliveries of removed ones can be dropped or reassigned`,
        },
      ]);
    }
  }
}

const route = routeFor<OrphanAdmin>();
const destinationIdParam = z.object({ destinationId: idParam });

export const listOrphans = route({
  id: 'listOrphans',
  method: 'GET',
  path: '/orphans',
  summary: 'Destination ids with deliveries in the store but no longer in the config, with counts by state',
  description: 'Their waiting deliveries (pending, paused, in flight) are sent nowhere until an operator drops or reassigns them.',
  response: z.object({ orphans: z.array(orphanView) }),
  handle: async (orphans) => ({ orphans: await orphans.list() }),
});

export const dropOrphans = route({
  id: 'dropOrphans',
  method: 'POST',
  path: '/orphans/:destinationId/drop',
  summary: "Make a removed destination's waiting deliveries final: skipped with rule destination_removed, still listed",
  description: 'In-flight ones only once their lease has expired. A configured destination is not an orphan: 400.',
  params: destinationIdParam,
  response: z.object({ dropped: z.number().int().nonnegative() }),
  handle: (orphans, { params }) => orphans.drop(params.destinationId),
});

export const reassignOrphans = route({
  id: 'reassignOrphans',
  method: 'POST',
  path: '/orphans/:destinationId/reassign',
  summary: "Move a removed destination's waiting deliveries to a configured one, due at once with a fresh retry window",
  description: 'An event that already has a delivery to `to` keeps its own, and its orphaned one stays (drop it).',
  params: destinationIdParam,
  body: reassignRequest,
  bodyName: 'reassign request',
  response: reassignment,
  handle: (orphans, { params, body }) => orphans.reassign(params.destinationId, body),
});

export const ORPHAN_ROUTES = [listOrphans, dropOrphans, reassignOrphans];
