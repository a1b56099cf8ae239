import { hostname } from 'node:os';
import { z } from 'zod';
import { DELIVERY_STATES, redactSettings, systemClock, type DeliveryState, type DestinationPause, type StoreStats } from '@ferry/core';
import { missingConfigOf, PAUSE_CAUSES, type DestinationInstance } from '@ferry/engine';
import { CHECK_REUSE_MS, ConnectionChecks, connectionCheckAnswer, type ConnectionCheckAnswer } from './connection-checks';
import { portOf, type AdminDeps } from './deps';
import { ConflictError, NotFoundError } from './errors';
import { routeFor, type Answer } from './route';
import { countsByState, idParam } from './schema';

/** Destinations: their state and counts, and the operator's pause and resume. */

export const destinationView = z
  .object({
    id: z.string(),
    plugin: z.string(),
    state: z.enum(['running', 'paused']).describe("The live dispatcher's state; without one (the command line), the stored pause."),
    pausedBy: z
      .enum(PAUSE_CAUSES)
      .optional()
      .describe('Why it is paused: an operator, refused credentials (probed until accepted), or missing configuration.'),
    reason: z.string().optional(),
    since: z.number().optional().describe('When the pause began.'),
    inFlightRequests: z.number().int().nonnegative(),
    missingConfig: z.array(z.string()),
    concurrency: z.number().int().positive(),
    timeoutMs: z.number(),
    deliveries: countsByState,
    oldestPendingAgeMs: z.number().describe('How long the oldest due pending delivery has waited (0 when none).'),
    settings: z.unknown().describe('Secret settings are redacted.'),
  })
  .meta({ id: 'DestinationView', description: 'A configured destination: its state, why it is paused, its deliveries by state.' });

export type DestinationView = Answer<typeof destinationView>;

const MAX_PAUSE_REASON = 500;

export const pauseRequest = z
  .object({ reason: z.string().trim().min(1).max(MAX_PAUSE_REASON).optional().describe('Shown to operators and in alerts.') })
  .strict()
  .meta({ id: 'PauseRequest' });

/** Counts per state, every state present. */
export function zeroCounts(): Record<DeliveryState, number> {
  return Object.fromEntries(DELIVERY_STATES.map((state) => [state, 0])) as Record<DeliveryState, number>;
}

export class DestinationAdmin {
  private readonly checks: ConnectionChecks;

  constructor(private readonly deps: AdminDeps) {
    this.checks = new ConnectionChecks(deps.transport, deps.clock);
  }

  async list(): Promise<DestinationView[]> {
    const stats = await portOf(this.deps, 'log').stats((this.deps.clock ?? systemClock).now());
    // A running dispatcher knows the pauses; without one (the command line), the store does.
    return this.views(stats, this.deps.dispatcher ? [] : await portOf(this.deps, 'pauses').destinationPauses());
  }

  views(stats: StoreStats, pauses: readonly DestinationPause[] = []): DestinationView[] {
    const live = new Map((this.deps.dispatcher?.status() ?? []).map((status) => [status.destinationId, status]));
    return this.deps.destinations.map((destination): DestinationView => {
      const deliveries = zeroCounts();
      for (const row of stats.deliveries) if (row.destinationId === destination.id) deliveries[row.state] = row.count;
      const missingConfig = missingConfigOf(destination);
      const status = live.get(destination.id);
      const base = {
        id: destination.id,
        plugin: destination.plugin.id,
        inFlightRequests: status?.inFlightRequests ?? 0,
        missingConfig,
        concurrency: destination.concurrency,
        timeoutMs: destination.timeoutMs,
        deliveries,
        oldestPendingAgeMs: stats.oldestPendingAgeMs.find((row) => row.destinationId === destination.id)?.ageMs ?? 0,
        settings: redactSettings(destination.settings, destination.plugin.secrets),
      };
      if (missingConfig.length > 0)
        return { ...base, state: 'paused', pausedBy: 'configuration', reason: `missing configuration: ${missingConfig.join(', ')}` };
      if (status) return { ...base, state: status.state, pausedBy: status.pausedBy, reason: status.reason, since: status.since };
      const pause = pauses.find((candidate) => candidate.destinationId === destination.id);
      if (pause) return { ...base, state: 'paused', pausedBy: pause.cause, reason: pause.reason, since: pause.sinceMs };
      return { ...base, state: 'running' };
    });
  }

  /**
   * Pauses a destination for every runner until an operator resumes it; its waiting deliveries wait as
   * paused (none die). Idempotent.
   */
  async pause(id: string, { reason }: z.output<typeof pauseRequest>): Promise<DestinationView> {
    this.destination(id);
    await portOf(this.deps, 'pauses').pauseDestination({
      destinationId: id,
      cause: 'operator',
      reason: reason ?? 'paused by an operator',
      sinceMs: (this.deps.clock ?? systemClock).now(),
      setBy: this.deps.dispatcher?.ownerId ?? `command line on ${hostname()}:${process.pid}`,
    });
    return this.afterChange(id);
  }

  /**
   * Ends an operator's pause, or a credentials pause (the next refusal pauses it again), for every
   * runner; its paused deliveries fall due. Idempotent. Missing configuration cannot be resumed here.
   */
  async resume(id: string): Promise<DestinationView> {
    const destination = this.destination(id);
    const missingConfig = missingConfigOf(destination);
    if (missingConfig.length > 0) {
      throw new ConflictError(`${id} cannot be resumed: its configuration lacks ${missingConfig.join(', ')}; complete it and restart`);
    }
    await portOf(this.deps, 'pauses').resumeDestination(id, (this.deps.clock ?? systemClock).now());
    return this.afterChange(id);
  }

  /**
   * Whether the destination takes its configured credentials, by its plugin's connection check: a request that
   * changes nothing there. Without such a request the answer says "not supported".
   */
  check(id: string): Promise<ConnectionCheckAnswer> {
    return this.checks.check(this.destination(id));
  }

  private destination(id: string): DestinationInstance {
    const destination = this.deps.destinations.find((candidate) => candidate.id === id);
    if (!destination) throw new NotFoundError(`no destination with id ${JSON.stringify(id)}`);
    return destination;
  }

  /** The destination as every runner will see it; this one's dispatcher acts on the change at once. */
  private async afterChange(id: string): Promise<DestinationView> {
    await this.deps.dispatcher?.refreshPause(id);
    return (await this.list()).find((view) => view.id === id)!;
  }
}

const route = routeFor<DestinationAdmin>();
const destinationAnswer = z.object({ destination: destinationView });
const UNKNOWN_DESTINATION = 'No configured destination has this id.';

export const listDestinations = route({
  id: 'listDestinations',
  method: 'GET',
  path: '/destinations',
  summary: 'Each configured destination: running or paused and why, deliveries by state, the oldest pending age',
  response: z.object({ destinations: z.array(destinationView) }),
  handle: async (destinations) => ({ destinations: await destinations.list() }),
});

export const pauseDestination = route({
  id: 'pauseDestination',
  method: 'POST',
  path: '/destinations/:id/pause',
  summary: 'Pause a destination for every runner until an operator resumes it; its deliveries wait as paused and never die',
  description: "Idempotent: a second pause keeps the first one's reason and time.",
  params: z.object({ id: idParam }),
  body: pauseRequest,
  bodyName: 'pause request',
  response: destinationAnswer,
  refusals: { 404: UNKNOWN_DESTINATION },
  handle: async (destinations, { params, body }) => ({ destination: await destinations.pause(params.id, body) }),
});

export const resumeDestination = route({
  id: 'resumeDestination',
  method: 'POST',
  path: '/destinations/:id/resume',
  summary: "End an operator's or a credentials pause for every runner; its paused deliveries fall due",
  description: 'Idempotent. A credentials pause comes back with the next refusal.',
  params: z.object({ id: idParam }),
  response: destinationAnswer,
  refusals: { 404: UNKNOWN_DESTINATION, 409: 'The destination lacks configuration (named in the answer): complete it and restart.' },
  handle: async (destinations, { params }) => ({ destination: await destinations.resume(params.id) }),
});

export const checkDestination = route({
  id: 'checkDestination',
  method: 'GET',
  path: '/destinations/:id/check',
  summary: "Check the destination's credentials with a request that changes nothing there, and read its verdict",
  description:
    '`ok` is null when the answer cannot tell, or when the plugin has no such request (`"reason": "not supported"`). ' +
    `A check asked while one is in flight for the destination, or within ${CHECK_REUSE_MS / 1_000} s of one, gets that one's verdict.`,
  params: z.object({ id: idParam }),
  response: connectionCheckAnswer,
  refusals: { 404: UNKNOWN_DESTINATION },
  handle: (destinations, { params }) => destinations.check(params.id),
});

export const DESTINATION_ROUTES = [listDestinations, pauseDestination, resumeDestination, checkDestination];
