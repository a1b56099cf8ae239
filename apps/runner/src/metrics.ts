import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DELIVERY_STATES, type OutcomeType, type StoreStats } from '@ferry/core';
import { PAUSE_CAUSES, type EngineObserver, type ErasureOutcome, type PauseCause } from '@ferry/engine';
import type { ActivityRecorder } from './activity';
import type { OrphanView } from './admin';

/** How a webhook request ended, as counted by `ferry_webhooks_total`. */
export type WebhookOutcome =
  'stored' | 'duplicate' | 'invalid' | 'unauthorized' | 'unknown_source' | 'too_large' | 'unsupported_media_type' | 'unavailable' | 'other';

const OUTCOME_BY_STATUS: Readonly<Record<number, WebhookOutcome>> = {
  400: 'invalid',
  401: 'unauthorized',
  404: 'unknown_source',
  413: 'too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
};

/** The outcomes that refuse what the sender sent (as opposed to `unavailable`, which asks it to retry). */
const REJECTED: ReadonlySet<WebhookOutcome> = new Set(['invalid', 'unauthorized', 'too_large', 'unsupported_media_type']);

/**
 * The `source` label of a webhook posted to an id no source has. Ids start with a letter or digit, so it is
 * never a configured one, and the URL's own text never becomes a label (its cardinality stays bounded).
 */
export const UNKNOWN_SOURCE_LABEL = '(unknown)';

/** One source's webhooks since this runner started, beside those it stored. */
export interface SourceWebhookCounts {
  readonly duplicate: number;
  /** Refused as sent: invalid, unauthorized, too large, of the wrong content type. */
  readonly rejected: number;
}

export function webhookOutcomeFor(statusCode: number): WebhookOutcome {
  return OUTCOME_BY_STATUS[statusCode] ?? 'other';
}

/**
 * The runner's Prometheus metrics, on a registry of its own. Counters and the latency histogram are fed
 * as things happen (webhooks, the engine's observer); queue gauges are read from the store at scrape. What
 * it counts of webhooks stored and delivery outcomes it passes on to the per-minute activity, if given one.
 */
export class RunnerMetrics implements EngineObserver {
  readonly registry = new Registry();
  private readonly webhooks = new Counter({
    name: 'ferry_webhooks_total',
    help: 'Webhook requests by source and outcome',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly attemptSeconds = new Histogram({
    name: 'ferry_delivery_attempt_duration_seconds',
    help: 'Duration of one delivery request by destination and outcome',
    labelNames: ['destination', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly outcomes = new Counter({
    name: 'ferry_delivery_outcomes_total',
    help: 'Deliveries by destination and the outcome of their attempt',
    labelNames: ['destination', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly deliveries = new Gauge({
    name: 'ferry_deliveries',
    help: 'Stored deliveries by destination and state',
    labelNames: ['destination', 'state'] as const,
    registers: [this.registry],
  });
  private readonly queueDepth = new Gauge({
    name: 'ferry_queue_depth',
    help: 'Deliveries not yet final (pending, in flight or paused) by destination',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  private readonly oldestPending = new Gauge({
    name: 'ferry_oldest_pending_age_seconds',
    help: 'Age of the oldest due pending delivery by destination',
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });
  private readonly paused = new Gauge({
    name: 'ferry_destination_paused',
    help: '1 while a destination is paused for this cause (operator, credentials rejected, configuration incomplete), else 0',
    labelNames: ['destination', 'cause'] as const,
    registers: [this.registry],
  });
  private readonly orphaned = new Gauge({
    name: 'ferry_orphaned_deliveries',
    help: 'Deliveries of a destination no longer configured, by destination and state (waiting ones wait until dropped or reassigned)',
    labelNames: ['destination', 'state'] as const,
    registers: [this.registry],
  });
  private readonly erasures = new Counter({
    name: 'ferry_erasures_total',
    help: 'Erasure jobs at the destinations by destination and what a request made of them: done, retry (later), dead',
    labelNames: ['destination', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly events = new Gauge({ name: 'ferry_events_stored', help: 'Events in the store', registers: [this.registry] });

  /** Per configured source, its duplicate and rejected webhooks since start (`webhookCountsBySource`). */
  private readonly bySource = new Map<string, { duplicate: number; rejected: number }>();

  /**
   * `sourceIds`: the configured sources, each counted from zero (and its series present before its first webhook);
   * `activity`: where stored webhooks and delivery outcomes are counted per minute too.
   */
  constructor(
    sourceIds: readonly string[] = [],
    private readonly activity?: Pick<ActivityRecorder, 'received' | 'attempted'>,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ferry_' });
    for (const source of sourceIds) {
      this.bySource.set(source, { duplicate: 0, rejected: 0 });
      for (const outcome of ['stored', 'duplicate'] as const) this.webhooks.inc({ source, outcome }, 0);
    }
  }

  /** A webhook request ended; `sourceId` undefined: its path named no configured source. */
  webhook(sourceId: string | undefined, outcome: WebhookOutcome): void {
    const counts = sourceId === undefined ? undefined : this.bySource.get(sourceId);
    this.webhooks.inc({ source: counts === undefined ? UNKNOWN_SOURCE_LABEL : sourceId, outcome });
    if (outcome === 'stored') this.activity?.received();
    if (counts === undefined) return;
    if (outcome === 'duplicate') counts.duplicate++;
    else if (REJECTED.has(outcome)) counts.rejected++;
  }

  /** Per configured source, how many of its webhooks this runner answered `duplicate` and rejected since it started. */
  webhookCountsBySource(): ReadonlyMap<string, SourceWebhookCounts> {
    return new Map([...this.bySource].map(([source, counts]) => [source, { ...counts }]));
  }

  attempt(destinationId: string, outcome: OutcomeType, deliveries: number, durationMs: number): void {
    this.attemptSeconds.observe({ destination: destinationId, outcome }, durationMs / 1000);
    this.outcomes.inc({ destination: destinationId, outcome }, deliveries);
    this.activity?.attempted(outcome, deliveries);
  }

  /** An erasure job's outcome after one of its requests (the erasure worker's observer): it names no customer. */
  erasure(destinationId: string, outcome: ErasureOutcome): void {
    this.erasures.inc({ destination: destinationId, outcome });
  }

  /** The Prometheus text, with queue gauges refreshed from the store's stats, the destinations' states and the orphans. */
  async render(
    stats: StoreStats,
    destinations: readonly { readonly id: string; readonly state: string; readonly pausedBy?: PauseCause }[],
    orphans: readonly OrphanView[],
  ): Promise<string> {
    this.deliveries.reset();
    this.orphaned.reset();
    for (const { destinationId: destination, deliveries } of orphans) {
      for (const [state, count] of Object.entries(deliveries)) this.orphaned.set({ destination, state }, count);
    }
    this.queueDepth.reset();
    this.oldestPending.reset();
    this.paused.reset();
    for (const { id: destination, state: destinationState, pausedBy } of destinations) {
      for (const cause of PAUSE_CAUSES)
        this.paused.set({ destination, cause }, destinationState === 'paused' && pausedBy === cause ? 1 : 0);
      for (const state of DELIVERY_STATES) this.deliveries.set({ destination, state }, 0);
      this.queueDepth.set({ destination }, 0);
      this.oldestPending.set({ destination }, 0);
    }
    for (const { destinationId, state, count } of stats.deliveries) {
      this.deliveries.set({ destination: destinationId, state }, count);
      if (state === 'pending' || state === 'in_flight' || state === 'paused') this.queueDepth.inc({ destination: destinationId }, count);
    }
    for (const { destinationId, ageMs } of stats.oldestPendingAgeMs) this.oldestPending.set({ destination: destinationId }, ageMs / 1000);
    this.events.set(stats.events);
    return this.registry.metrics();
  }
}
