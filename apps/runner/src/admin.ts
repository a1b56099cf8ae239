import { hostname } from 'node:os';
import { z } from 'zod';
import {
  DELIVERY_STATES,
  StoreInputError,
  isEpochMs,
  redactSettings,
  systemClock,
  type Clock,
  type DeliveryRequest,
  type DeliveryRow,
  type DeliveryState,
  type DestinationPause,
  type EventDetail,
  type EventRow,
  type FieldIssue,
  type ListFilter,
  type Reassignment,
  type ReplaySelector,
  type SourcePlugin,
  type Store,
  type StoreStats,
} from '@ferry/core';
import {
  previewDeliveries,
  type DestinationInstance,
  type DestinationPreview,
  type DestinationStatus,
  type PauseCause,
} from '@ferry/engine';
import { fieldIssues, numeric } from './input';
import { ReplayJobs, type ReplayJob, type StartedReplay } from './replay-jobs';

/** Input an operator got wrong (a query parameter, a replay selector, a webhook to preview), with each field's path. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/** The request cannot be done in the state things are in (resuming a destination that lacks configuration). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** An ISO 8601 time or milliseconds since the epoch (a number, or digits in a query string or flag). */
const time = z.unknown().transform((value, ctx) => {
  const ms =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Date.parse(String(value));
  // The stores keep times as BIGINT milliseconds: anything beyond a date could not be compared with them.
  if (!isEpochMs(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time or milliseconds since the epoch, within the range of a date' });
    return z.NEVER;
  }
  return ms;
});

const MAX_LIMIT = 500;

const listQuery = z
  .object({
    state: z.enum(DELIVERY_STATES).optional(),
    destination: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    type: z.string().min(1).optional(),
    since: time.optional(),
    until: time.optional(),
    limit: numeric(z.number().int().min(1).max(MAX_LIMIT).optional()),
    before: z.string().min(1).optional(),
  })
  .strict();

const REPLAYABLE_STATES = ['dead', 'skipped', 'delivered'] as const;
const ids = z.array(z.string().min(1)).min(1).max(10_000);

const replayRequest = z
  .object({
    deliveryIds: ids.optional(),
    eventIds: ids.optional(),
    from: time.optional(),
    to: time.optional(),
    destination: z.string().min(1).optional(),
    states: z.array(z.enum(REPLAYABLE_STATES)).min(1).optional(),
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
  });

const eraseRequest = z.object({ appUserId: z.string().min(1) }).strict();

function reassignRequest(configured: readonly string[]) {
  return z
    .object({
      to: z.string().refine((to) => configured.includes(to), {
        error: `must be a configured destination: ${configured.map((id) => JSON.stringify(id)).join(', ') || 'none is configured'}`,
      }),
    })
    .strict();
}

const MAX_PAUSE_REASON = 500;
const pauseRequest = z.object({ reason: z.string().trim().min(1).max(MAX_PAUSE_REASON).optional() }).strict();

function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new InputError(`invalid ${what}`, fieldIssues(parsed.error.issues, 'unknown parameter'));
}

function listFilter(input: unknown): ListFilter & { limit: number } {
  const query = parseInput(listQuery, input, 'query');
  return {
    state: query.state,
    destinationId: query.destination,
    userId: query.user,
    type: query.type,
    sinceMs: query.since,
    untilMs: query.until,
    limit: query.limit ?? 50,
    before: query.before,
  };
}

/** One page of a newest-first listing; `next` is the `before` cursor of the following page, if there may be one. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next?: string;
}

function page<T extends { readonly id: string }>(items: readonly T[], limit: number): Page<T> {
  return items.length === limit ? { items, next: items[items.length - 1].id } : { items };
}

type StoredDelivery = EventDetail['deliveries'][number];

export interface EventView extends Omit<EventDetail, 'body' | 'deliveries'> {
  /** The webhook body as received. */
  readonly webhook: unknown;
  readonly deliveries: readonly (StoredDelivery & {
    /**
     * The requests the destination's plugin builds for this event alone, secrets redacted: attempts keep no
     * request bodies, and plugins are deterministic, so this is what was sent for it (a batch may have carried
     * other events beside it). Empty when the destination skips the event or is no longer configured.
     */
    readonly requests: readonly DeliveryRequest[];
  })[];
}

export interface DestinationView {
  readonly id: string;
  readonly plugin: string;
  /** The live dispatcher's state; without one (the command line), the stored pause. */
  readonly state: 'running' | 'paused';
  /** Why it is paused: an operator, refused credentials (probed until accepted), or missing configuration. */
  readonly pausedBy?: PauseCause;
  readonly reason?: string;
  readonly since?: number;
  readonly inFlightRequests: number;
  readonly missingConfig: readonly string[];
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly deliveries: Readonly<Record<DeliveryState, number>>;
  readonly oldestPendingAgeMs: number;
  /** Secret settings are redacted. */
  readonly settings: unknown;
}

/** Deliveries of a destination id the config no longer names. */
export interface OrphanView {
  readonly destinationId: string;
  readonly deliveries: Readonly<Record<DeliveryState, number>>;
}

export interface PreviewResult {
  readonly event: {
    readonly id: string;
    readonly type: string;
    readonly kind: string | null;
    readonly environment: string;
    readonly appUserId: string | null;
  };
  readonly destinations: readonly DestinationPreview[];
}

export interface AdminServiceDeps {
  readonly destinations: readonly DestinationInstance[];
  /** Parses the webhooks to preview, and stored ones to rebuild their requests. */
  readonly source: SourcePlugin;
  /** Absent for commands that need none (preview). */
  readonly store?: Store;
  readonly clock?: Clock;
  /** The dispatcher running in this process, if any: its live status, a wake-up after replays, and a pause read at once. */
  readonly dispatcher?: {
    readonly ownerId: string;
    status(): DestinationStatus[];
    notify(destinationId?: string): void;
    refreshPause(destinationId: string): Promise<void>;
  };
}

/**
 * Every admin operation, once: the HTTP routes under /admin and the `ferry` command line both call
 * this class, so they validate and answer alike.
 */
export class AdminService {
  private readonly clock: Clock;
  private readonly replays: ReplayJobs;

  constructor(private readonly deps: AdminServiceDeps) {
    this.clock = deps.clock ?? systemClock;
    this.replays = new ReplayJobs(this.clock);
  }

  private get store(): Store {
    if (!this.deps.store) throw new Error('this operation needs the store');
    return this.deps.store;
  }

  async listEvents(query: unknown): Promise<Page<EventRow>> {
    const filter = listFilter(query);
    return page(await queryStore(() => this.store.listEvents(filter)), filter.limit);
  }

  async listDeliveries(query: unknown): Promise<Page<DeliveryRow>> {
    const filter = listFilter(query);
    return page(await queryStore(() => this.store.listDeliveries(filter)), filter.limit);
  }

  async event(id: string): Promise<EventView | undefined> {
    const detail = await this.store.getEvent(id);
    if (!detail) return undefined;
    const { body, deliveries, ...rest } = detail;
    const webhook = parseStoredBody(body);
    const rebuilt = this.rebuiltRequests(webhook);
    return {
      ...rest,
      webhook,
      deliveries: deliveries.map((delivery) => ({
        ...delivery,
        requests: (rebuilt.get(delivery.destinationId) ?? []).map((request) => ({ ...request, deliveryIds: [delivery.id] })),
      })),
    };
  }

  /** Per destination, the requests its plugin builds from a stored webhook, as preview builds them. */
  private rebuiltRequests(webhook: unknown): Map<string, readonly DeliveryRequest[]> {
    const parsed = this.deps.source.parse(webhook);
    if (!parsed.ok) return new Map();
    return new Map(
      previewDeliveries(parsed.value, this.deps.destinations).map((preview) => [
        preview.destinationId,
        preview.status === 'send' ? preview.requests : [],
      ]),
    );
  }

  async destinations(): Promise<DestinationView[]> {
    const stats = await this.store.stats(this.clock.now());
    // A running dispatcher knows the pauses; without one (the command line), the store does.
    return this.destinationViews(stats, this.deps.dispatcher ? [] : await this.store.destinationPauses());
  }

  destinationViews(stats: StoreStats, pauses: readonly DestinationPause[] = []): DestinationView[] {
    const live = new Map((this.deps.dispatcher?.status() ?? []).map((status) => [status.destinationId, status]));
    return this.deps.destinations.map((destination): DestinationView => {
      const deliveries = Object.fromEntries(DELIVERY_STATES.map((state) => [state, 0])) as Record<DeliveryState, number>;
      for (const row of stats.deliveries) if (row.destinationId === destination.id) deliveries[row.state] = row.count;
      const missingConfig = destination.plugin.missingConfig?.(destination.settings) ?? [];
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
   * paused (none die). Idempotent. Undefined for an unknown destination.
   */
  async pauseDestination(id: string, request: unknown): Promise<DestinationView | undefined> {
    const { reason } = parseInput(pauseRequest, request, 'pause request');
    if (!this.destination(id)) return undefined;
    await this.store.pauseDestination({
      destinationId: id,
      cause: 'operator',
      reason: reason ?? 'paused by an operator',
      sinceMs: this.clock.now(),
      setBy: this.deps.dispatcher?.ownerId ?? `command line on ${hostname()}:${process.pid}`,
    });
    return this.destinationAfterChange(id);
  }

  /**
   * Ends an operator's pause, or a credentials pause (the next refusal pauses it again), for every
   * runner; its paused deliveries fall due. Idempotent. Missing configuration cannot be resumed here.
   */
  async resumeDestination(id: string): Promise<DestinationView | undefined> {
    const destination = this.destination(id);
    if (!destination) return undefined;
    const missingConfig = destination.plugin.missingConfig?.(destination.settings) ?? [];
    if (missingConfig.length > 0) {
      throw new ConflictError(`${id} cannot be resumed: its configuration lacks ${missingConfig.join(', ')}; complete it and restart`);
    }
    await this.store.resumeDestination(id, this.clock.now());
    return this.destinationAfterChange(id);
  }

  private destination(id: string): DestinationInstance | undefined {
    return this.deps.destinations.find((destination) => destination.id === id);
  }

  /** The destination as every runner will see it; this one's dispatcher acts on the change at once. */
  private async destinationAfterChange(id: string): Promise<DestinationView> {
    await this.deps.dispatcher?.refreshPause(id);
    return (await this.destinations()).find((view) => view.id === id)!;
  }

  /**
   * Starts making the selected deliveries pending again with a fresh retry window, in the background;
   * a bad request throws an InputError before any job starts. The dispatcher is woken as batches land;
   * `onProgress` hears the running total too (the command line prints it).
   */
  startReplay(request: unknown, onProgress?: (replayed: number) => void): StartedReplay {
    const parsed = parseInput(replayRequest, request, 'replay request');
    const selector: ReplaySelector = {
      deliveryIds: parsed.deliveryIds,
      eventIds: parsed.eventIds,
      fromMs: parsed.from,
      toMs: parsed.to,
      destinationId: parsed.destination,
      states: parsed.states,
    };
    const store = this.store;
    return this.replays.start(request, (progress) => {
      let notified = 0;
      return store.replay(selector, this.clock.now(), (replayed) => {
        progress(replayed);
        onProgress?.(replayed);
        if (replayed > notified) this.deps.dispatcher?.notify(parsed.destination);
        notified = replayed;
      });
    });
  }

  /**
   * A privacy request: removes every event naming the user (see Store.erase). The user id is not logged:
   * the log would keep what the store no longer does.
   */
  async erase(request: unknown): Promise<{ erased: number }> {
    const { appUserId } = parseInput(eraseRequest, request, 'erase request');
    return { erased: await queryStore(() => this.store.erase(appUserId)) };
  }

  /** This process's replay jobs, newest first. */
  replayJobs(): ReplayJob[] {
    return this.replays.list();
  }

  replayJob(id: string): ReplayJob | undefined {
    return this.replays.get(id);
  }

  /** Destinations the store has deliveries for but the config no longer names, with their counts by state. */
  async orphans(): Promise<OrphanView[]> {
    return this.orphanViews(await this.store.stats(this.clock.now()));
  }

  orphanViews(stats: StoreStats): OrphanView[] {
    const configured = new Set(this.deps.destinations.map((destination) => destination.id));
    const orphans = new Map<string, Record<DeliveryState, number>>();
    for (const { destinationId, state, count } of stats.deliveries) {
      if (configured.has(destinationId)) continue;
      const deliveries =
        orphans.get(destinationId) ?? (Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<DeliveryState, number>);
      deliveries[state] = count;
      orphans.set(destinationId, deliveries);
    }
    return [...orphans].map(([destinationId, deliveries]) => ({ destinationId, deliveries }));
  }

  /** Makes an orphaned destination's waiting deliveries final: skipped, rule `destination_removed`, still listed. */
  async dropOrphans(destinationId: string): Promise<{ dropped: number }> {
    this.orphanId(destinationId);
    return { dropped: await this.store.dropOrphans(destinationId, this.clock.now()) };
  }

  /** Moves an orphaned destination's waiting deliveries to a configured one, which is woken to send them. */
  async reassignOrphans(destinationId: string, body: unknown): Promise<Reassignment> {
    this.orphanId(destinationId);
    const configured = this.deps.destinations.map((destination) => destination.id);
    const { to } = parseInput(reassignRequest(configured), body, 'reassign request');
    const result = await this.store.reassignOrphans(destinationId, to, this.clock.now());
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

  /** Per destination, the exact requests a webhook body would cause (secrets redacted); nothing is stored or sent. */
  preview(webhook: unknown): PreviewResult {
    const parsed = this.deps.source.parse(webhook);
    if (!parsed.ok) throw new InputError('invalid webhook', parsed.issues);
    const event = parsed.value;
    return {
      event: { id: event.id, type: event.type, kind: event.kind, environment: event.environment, appUserId: event.appUserId },
      destinations: previewDeliveries(event, this.deps.destinations),
    };
  }
}

/** A query the store refuses for its input (a `before` naming no row) is the operator's mistake, answered as such. */
async function queryStore<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (!(error instanceof StoreInputError)) throw error;
    throw new InputError('invalid query', [{ path: error.field ?? '(query)', message: error.message }]);
  }
}

function parseStoredBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
