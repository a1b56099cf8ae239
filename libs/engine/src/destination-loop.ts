import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import {
  redactText,
  sendsState,
  stateAcceptedBy,
  stateAfter,
  stateProfileOf,
  subscriptionStatus,
  type Clock,
  type DeliveryQueue,
  type DeliveryRequest,
  type DeliveryUpdate,
  type HttpResult,
  type LeasedDelivery,
  type Logger,
  type Outcome,
  type OutcomeType,
  type Planned,
  type StateMarks,
  type StoredPauses,
  type SubscriptionEvent,
  type Transport,
} from '@ferry/core';
import { concurrencyOf, missingConfigOf, secretValues, skipOf, type DestinationInstance } from './instance';
import { KeyedLimiter } from './limiter';
import type { DestinationStatus, DispatcherOptions, EngineObserver } from './options';
import { describeError } from './errors';
import { DestinationHealth } from './destination-health';
import { LeaseKeeper } from './lease-keeper';
import { describeFailure, isFailure, updateAfterAttempt, type AttemptResult, type Failure } from './outcomes';
import { customerIdsOf, redactUserIds } from './user-ids';
import { WakeableSleep } from './wakeable-sleep';

export interface LoopDeps {
  readonly queue: DeliveryQueue;
  /** The pauses every runner shares, and the ordering guard's marks. */
  readonly coordination: StoredPauses & StateMarks;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A stored webhook body, received through the source with this id, back to its event; throws when it cannot. */
  readonly decode: (body: string, source: string) => SubscriptionEvent;
  readonly options: DispatcherOptions;
  readonly observer?: EngineObserver;
  readonly random: () => number;
}

/** Error texts are stored and shown: long enough to diagnose, short enough that a huge body cannot bloat a row. */
const MAX_ERROR_CHARS = 2_000;

/** Deliveries leased for one batch, and when (by this runner's clock) the first of its leases was taken. */
interface Leased {
  readonly deliveries: readonly LeasedDelivery[];
  readonly atMs: number;
}

/** The timing and status of one exchange, shared by the outcomes it produced. */
type Exchange = Omit<AttemptResult, 'outcome'>;

/**
 * Delivers one destination instance's deliveries. Every destination has its own loop, batches,
 * concurrency caps and sleep, so a slow or failing destination never holds up another.
 */
export class DestinationLoop {
  private readonly log: Logger;
  private readonly secrets: string[];
  private readonly concurrency: number;
  private readonly limiter: KeyedLimiter;
  private readonly batches = new Set<Promise<unknown>>();
  /** The events of the batches being sent, by delivery id: their customers' ids are kept out of logs and alerts (logText). */
  private readonly eventsInFlight = new Map<string, SubscriptionEvent>();
  private readonly health: DestinationHealth;
  /** Whether the ordering guard runs (SPEC §12): the destination sends subscription state with its settings. */
  private readonly guardsState: boolean;
  private inFlightRequests = 0;
  private stopping = false;
  private readonly sleeper = new WakeableSleep();
  private running: Promise<void> | undefined;

  constructor(
    private readonly destination: DestinationInstance,
    private readonly deps: LoopDeps,
  ) {
    this.log = deps.logger.child({ destinationId: destination.id, plugin: destination.plugin.id });
    this.secrets = secretValues(destination);
    this.concurrency = concurrencyOf(destination);
    this.limiter = new KeyedLimiter(this.concurrency);
    this.guardsState = sendsState(destination.plugin, destination.settings);
    this.health = new DestinationHealth(
      {
        destinationId: destination.id,
        queue: deps.queue,
        pauses: deps.coordination,
        clock: deps.clock,
        logger: this.log,
        probeEveryMs: deps.options.pausedProbeMs,
        ownerId: deps.options.ownerId,
        safeText: (text) => this.errorText(text),
        onChange: () => deps.observer?.statusChanged?.(this.status()),
      },
      missingConfigOf(destination),
    );
  }

  get paused(): boolean {
    return this.health.paused;
  }

  status(): DestinationStatus {
    return {
      destinationId: this.destination.id,
      plugin: this.destination.plugin.id,
      ...this.health.status(),
      inFlightRequests: this.inFlightRequests,
    };
  }

  start(): void {
    this.running ??= this.run();
  }

  /** New deliveries may be due. A paused destination ignores this: it only probes on its interval. */
  notify(): void {
    if (!this.paused) this.wake();
  }

  /** The stored pause changed (the operator paused or resumed): read it now, and act on it at once. */
  async refreshPause(): Promise<void> {
    await this.health.refresh();
    this.wake();
  }

  /** Stops leasing, lets the batches in flight finish and store their outcomes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    await this.health.settle();
    // Paused for want of config: nothing to send or probe until a restart with a complete config.
    if (this.health.cannotSend) return;
    while (!this.stopping) {
      try {
        await this.step();
      } catch (error) {
        this.log.error({ error: this.errorText(describeError(error)) }, 'delivery loop step failed; trying again');
        await this.sleep(this.deps.options.pollMs);
      }
    }
    await Promise.all(this.batches);
  }

  private async step(): Promise<void> {
    // The pause is shared: another runner or the operator may have paused or resumed it since the last step.
    await this.health.refresh();
    if (this.paused) {
      // Poll-sized sleeps, so a resume elsewhere is seen within a poll; a credentials pause probes on its interval.
      const untilProbe = this.health.takeProbeTurn();
      if (untilProbe > 0) await this.sleep(Math.min(this.deps.options.pollMs, untilProbe));
      else if (!this.stopping) await this.probe();
    } else if (this.batches.size >= this.concurrency) {
      await Promise.race(this.batches);
    } else {
      const leased = await this.leaseBatch();
      // Running and idle: deliveries still paused are stragglers planned just before a resume (or paused by
      // another runner whose credentials failed); this runner's own sends will tell whether they go through.
      const work = leased.deliveries.length > 0 ? leased : await this.lease(this.destination.plugin.capabilities.batch.maxItems, 'paused');
      if (work.deliveries.length > 0) this.track(this.deliver(work));
      else await this.sleepUntilDue();
    }
  }

  private async leaseBatch(): Promise<Leased> {
    const { maxItems } = this.destination.plugin.capabilities.batch;
    this.sleeper.forget(); // this lease sees everything notified so far
    const leased = await this.lease(maxItems, 'pending');
    const { deliveries } = leased;
    if (deliveries.length === 0 || deliveries.length >= maxItems || this.deps.options.lingerMs <= 0) return leased;
    // Bodies are counted only for a partial batch, which may wait for company: a backlog's batches are full.
    const bytes = deliveries.reduce((sum, delivery) => sum + Buffer.byteLength(delivery.body), 0);
    const roomBytes = this.deps.options.batchMaxBytes - bytes;
    if (roomBytes <= 0) return leased;
    // A partial batch waits briefly for company; deliberately not cut short by notify, or every webhook would flush it.
    await delay(this.deps.options.lingerMs);
    if (this.stopping) return leased;
    // The first lease's time: the batch's leases surely hold from then (the later ones hold longer).
    const more = await this.lease(maxItems - deliveries.length, 'pending', roomBytes);
    return { deliveries: [...deliveries, ...more.deliveries], atMs: leased.atMs };
  }

  private async lease(limit: number, from: 'pending' | 'paused', maxBytes = this.deps.options.batchMaxBytes): Promise<Leased> {
    const { ownerId, leaseMs } = this.deps.options;
    const atMs = this.deps.clock.now();
    const deliveries = await this.deps.queue.lease({
      destinationId: this.destination.id,
      limit,
      nowMs: atMs,
      leaseMs,
      owner: ownerId,
      from,
      maxBytes,
    });
    return { deliveries, atMs };
  }

  private async sleepUntilDue(): Promise<void> {
    const { pollMs } = this.deps.options;
    const dueAtMs = await this.deps.queue.nextDueAtMs(this.destination.id);
    await this.sleep(dueAtMs === undefined ? pollMs : Math.min(pollMs, Math.max(0, dueAtMs - this.deps.clock.now())));
  }

  private track(batch: Promise<unknown>): void {
    const tracked: Promise<unknown> = batch.finally(() => {
      this.batches.delete(tracked);
      this.notify(); // a batch slot is free, and its retries may fall due before the current sleep ends
    });
    this.batches.add(tracked);
  }

  /** Sends one delivery (a paused one, else a due pending one): if it gets through, the credentials work again. */
  private async probe(): Promise<void> {
    for (const from of ['paused', 'pending'] as const) {
      const leased = await this.lease(1, from);
      if (leased.deliveries.length === 0) continue;
      const outcomes = await this.deliver(leased);
      if (outcomes.has('delivered')) await this.health.probeAccepted();
      return;
    }
  }

  /** One batch: plan, build, send, read the answers, store every outcome in one call. Never throws. */
  private async deliver({ deliveries: leased, atMs }: Leased): Promise<ReadonlySet<OutcomeType>> {
    const { queue, clock, options } = this.deps;
    const keeper = new LeaseKeeper(leased, atMs, {
      queue,
      clock,
      logger: this.log,
      ownerId: options.ownerId,
      leaseMs: options.leaseMs,
      safeText: (text) => this.errorText(text),
    });
    try {
      const { planned, settled, failed, held, claims } = await this.prepare(leased);
      const sent = await this.send(planned, keeper);
      const { results } = sent;
      for (const [deliveryId, result] of failed) results.set(deliveryId, result);
      const context = {
        policy: this.deps.options.retryPolicy,
        random: this.deps.random,
        nowMs: this.deps.clock.now(),
        errorText: (text: string) => this.errorText(text),
      };
      const updates = [...settled];
      for (const delivery of leased) {
        const result = results.get(delivery.id);
        let update: DeliveryUpdate | undefined;
        if (result) update = updateAfterAttempt(delivery, result, context);
        // Never sent (its lease lost or not renewable, or held back by the ordering guard): no attempt, and the
        // retry window untouched; due again after a poll (ignored if another runner holds it).
        else if (sent.unsent.has(delivery.id) || held.has(delivery.id))
          update = { deliveryId: delivery.id, state: stateAfter('retry'), nextAttemptAtMs: context.nowMs + this.deps.options.pollMs };
        if (!update) continue;
        const profile = claims.get(delivery.id);
        if (profile === undefined) updates.push(update);
        else updates.push({ ...update, stateClaim: { profile, accepted: result !== undefined && stateAcceptedBy(result.outcome) } });
      }
      await this.deps.queue.complete(updates, context.nowMs, this.deps.options.ownerId);
      this.reportDead(updates);

      const outcomeTypes = new Set<OutcomeType>();
      let refused: Failure | undefined;
      for (const { outcome } of results.values()) {
        outcomeTypes.add(outcome.type);
        if (outcome.type === 'auth_failed') refused ??= outcome;
      }
      if (refused) {
        if (!this.paused) this.sleeper.forget(); // the first probe waits its full interval
        // The pause reason is alerted: it names no customer either.
        await this.health.credentialsRefused(this.logText(refused.reason, [...results.keys()]));
      }
      return outcomeTypes;
    } catch (error) {
      this.log.error(
        { error: this.errorText(describeError(error)), deliveryIds: leased.map((delivery) => delivery.id) },
        'could not finish a batch; its leases expire and it is tried again',
      );
      return new Set();
    } finally {
      keeper.stop();
      for (const delivery of leased) this.eventsInFlight.delete(delivery.id);
    }
  }

  /**
   * Reads each stored event and filters it again (the config may have changed since ingest), then asks the
   * ordering guard which of them carry the subscription state, which go without it and which wait.
   */
  private async prepare(leased: readonly LeasedDelivery[]) {
    const planned: Planned[] = [];
    const settled: DeliveryUpdate[] = [];
    const failed: [string, AttemptResult][] = [];
    /** Deliveries whose event sets a state, and the profile it is written to (undefined: none to order). */
    const profiles = new Map<string, string | undefined>();
    for (const delivery of leased) {
      let event: SubscriptionEvent;
      try {
        event = this.deps.decode(delivery.body, delivery.source);
      } catch (error) {
        // The body was accepted once, so only a changed source parser, or a source no longer configured, gets here:
        // dead keeps it visible, and replayable once the source is back.
        settled.push({
          deliveryId: delivery.id,
          state: stateAfter('kill'),
          lastError: this.errorText(`undecodable: ${describeError(error)}`),
        });
        continue;
      }
      // From here on, whatever a plugin or the destination says of this delivery is logged without its customer's ids.
      this.eventsInFlight.set(delivery.id, event);
      try {
        const skip = skipOf(this.destination, event);
        if (skip) {
          settled.push({ deliveryId: delivery.id, state: stateAfter('skip'), lastError: this.errorText(`${skip.rule}: ${skip.reason}`) });
          continue;
        }
      } catch (error) {
        failed.push(...this.pluginBug([delivery.id], `filter threw: ${describeError(error)}`));
        continue;
      }
      try {
        if (this.guardsState && subscriptionStatus(event) !== undefined)
          profiles.set(delivery.id, stateProfileOf(this.destination.plugin, this.destination.settings, event));
      } catch (error) {
        failed.push(...this.pluginBug([delivery.id], `identity threw: ${describeError(error)}`));
        continue;
      }
      planned.push({ deliveryId: delivery.id, event, webhookBody: delivery.body });
    }
    return { ...(await this.withStateOrder(planned, profiles)), settled, failed };
  }

  /**
   * SPEC §12: per profile, one request carrying state in flight at a time, and never a state older than the
   * one the destination accepted. Decided as the batch is sent, not at ingest, so retries and replays are held
   * to it too. Held deliveries are not sent now; the rest of the batch goes as usual.
   */
  private async withStateOrder(
    planned: readonly Planned[],
    profiles: ReadonlyMap<string, string | undefined>,
  ): Promise<{ planned: readonly Planned[]; held: ReadonlySet<string>; claims: ReadonlyMap<string, string> }> {
    const held = new Set<string>();
    const claims = new Map<string, string>();
    if (profiles.size === 0) return { planned, held, claims };
    const candidates = [...profiles].flatMap(([deliveryId, profile]) => (profile === undefined ? [] : [{ deliveryId, profile }]));
    const verdicts =
      candidates.length === 0
        ? new Map()
        : await this.deps.coordination.claimSubscriptionState(this.destination.id, candidates, this.deps.clock.now());
    const sent: Planned[] = [];
    for (const item of planned) {
      if (!profiles.has(item.deliveryId)) {
        sent.push(item); // its event sets no state
        continue;
      }
      // No profile to order (so never a candidate), or no verdict (never expected): the event goes without state.
      const verdict = verdicts.get(item.deliveryId) ?? 'plain';
      if (verdict === 'hold') {
        held.add(item.deliveryId);
        continue;
      }
      if (verdict === 'state') claims.set(item.deliveryId, profiles.get(item.deliveryId)!);
      sent.push({ ...item, carriesState: verdict === 'state' });
    }
    return { planned: sent, held, claims };
  }

  /** Sends the batch's requests: the outcome of each delivery a request carried, and those of requests never made. */
  private async send(
    planned: readonly Planned[],
    keeper: LeaseKeeper,
  ): Promise<{ results: Map<string, AttemptResult>; unsent: Set<string> }> {
    const results = new Map<string, AttemptResult>();
    const unsent = new Set<string>();
    if (planned.length === 0) return { results, unsent };
    const deliveryIds = planned.map((item) => item.deliveryId);
    let requests: DeliveryRequest[];
    try {
      requests = this.destination.plugin.buildRequests(planned, this.destination.settings, { nowMs: this.deps.clock.now() });
    } catch (error) {
      return { results: new Map(this.pluginBug(deliveryIds, `buildRequests threw: ${describeError(error)}`)), unsent };
    }
    const answers = await Promise.all(requests.map(async (request) => ({ request, entries: await this.exchange(request, keeper) })));
    for (const { request, entries } of answers) {
      if (entries === 'unsent') for (const deliveryId of request.deliveryIds) unsent.add(deliveryId);
      else
        for (const [deliveryId, result] of entries) {
          // A delivery carried twice keeps a failure over a success: delivered only if every copy was.
          const previous = results.get(deliveryId);
          if (!previous || previous.outcome.type === 'delivered') results.set(deliveryId, result);
        }
    }
    const uncarried = deliveryIds.filter((deliveryId) => !results.has(deliveryId) && !unsent.has(deliveryId));
    if (uncarried.length > 0)
      for (const [deliveryId, result] of this.pluginBug(uncarried, 'no request carried these deliveries')) results.set(deliveryId, result);
    return { results, unsent };
  }

  /**
   * Sends one request within its concurrencyKey's cap and reads one outcome per delivery it carried;
   * `unsent` when the batch's leases would not surely outlast the request.
   */
  private async exchange(request: DeliveryRequest, keeper: LeaseKeeper): Promise<Map<string, AttemptResult> | 'unsent'> {
    if (request.warnings?.length) {
      this.log.warn(
        { deliveryIds: request.deliveryIds, warnings: request.warnings.map((warning) => this.logText(warning, request.deliveryIds)) },
        'the plugin left something out of a request',
      );
    }
    const sent = await this.limiter.run(request.concurrencyKey, async () => {
      // Checked once the request may go: waiting for the concurrency cap can take a while.
      if (!(await keeper.holds(request.deliveryIds, this.destination.timeoutMs))) return undefined;
      const startedAtMs = this.deps.clock.now();
      const started = performance.now();
      this.inFlightRequests += 1;
      const http: HttpResult = await this.deps.transport
        .send(request, this.destination.timeoutMs)
        .catch((error: unknown) => ({ kind: 'network', message: describeError(error) }) as const)
        .finally(() => {
          this.inFlightRequests -= 1;
        });
      const exchange: Exchange = {
        startedAtMs,
        durationMs: Math.round(performance.now() - started),
        status: http.kind === 'response' ? http.status : null,
      };
      return { http, exchange };
    });
    if (!sent) return 'unsent';
    const { http, exchange } = sent;
    const results = this.readOutcomes(request, http, exchange);
    this.report(request, results, exchange);
    return results;
  }

  /** One result per delivery the request carried, in the plugin's order, then those it gave no outcome. */
  private readOutcomes(request: DeliveryRequest, http: HttpResult, exchange: Exchange): Map<string, AttemptResult> {
    let outcomes: Outcome[];
    try {
      outcomes = this.destination.plugin.parseResponse(request, http, this.destination.settings);
    } catch (error) {
      return new Map(this.pluginBug(request.deliveryIds, `parseResponse threw: ${describeError(error)}`, exchange));
    }
    const carried = new Set(request.deliveryIds);
    const results = new Map<string, AttemptResult>();
    const { startedAtMs, durationMs, status } = exchange;
    for (const outcome of outcomes) {
      if (carried.has(outcome.deliveryId) && !results.has(outcome.deliveryId))
        results.set(outcome.deliveryId, { startedAtMs, durationMs, status, outcome });
    }
    if (results.size < carried.size) {
      const unanswered = request.deliveryIds.filter((deliveryId) => !results.has(deliveryId));
      for (const [deliveryId, result] of this.pluginBug(unanswered, 'parseResponse gave these deliveries no outcome', exchange))
        results.set(deliveryId, result);
    }
    return results;
  }

  private report(request: DeliveryRequest, results: ReadonlyMap<string, AttemptResult>, exchange: Exchange): void {
    const counts = new Map<OutcomeType, number>();
    let firstFailure: Failure | undefined;
    const notes: { deliveryId: string; note: string }[] = [];
    for (const [deliveryId, { outcome }] of results) {
      counts.set(outcome.type, (counts.get(outcome.type) ?? 0) + 1);
      if (isFailure(outcome)) firstFailure ??= outcome;
      else if (outcome.note) notes.push({ deliveryId, note: this.logText(outcome.note, [deliveryId]) });
    }
    for (const [outcome, deliveries] of counts)
      this.deps.observer?.attempt?.(this.destination.id, outcome, deliveries, exchange.durationMs);
    const fields = {
      status: exchange.status,
      durationMs: exchange.durationMs,
      deliveries: request.deliveryIds.length,
      outcomes: Object.fromEntries(counts),
    };
    if (notes.length > 0) this.log.warn({ notes }, 'delivered, but the destination refused part of what went with it');
    if (firstFailure)
      this.log.info({ ...fields, reason: this.logText(describeFailure(firstFailure), request.deliveryIds) }, 'request not fully delivered');
    else this.log.debug(fields, 'request delivered');
  }

  /** A plugin broke its contract: the deliveries are retried (and die in time like any other failure), never lost. */
  private pluginBug(deliveryIds: readonly string[], problem: string, exchange?: Exchange): [string, AttemptResult][] {
    const reason = `plugin error: ${this.errorText(problem)}`;
    this.log.error({ deliveryIds, reason: this.logText(reason, deliveryIds) }, 'plugin bug: its deliveries will be retried');
    const timing = exchange ?? { startedAtMs: this.deps.clock.now(), durationMs: 0, status: null };
    return deliveryIds.map((deliveryId) => [deliveryId, { ...timing, outcome: { deliveryId, type: 'retry', reason } }]);
  }

  private reportDead(updates: readonly DeliveryUpdate[]): void {
    const dead = updates.filter((update) => update.state === 'dead');
    if (dead.length === 0) return;
    // The stored error keeps what the destination said, for the operator; the log line and the alert do not name the customer.
    const deliveryIds = dead.map((update) => update.deliveryId);
    const lastError = dead[0].lastError ? this.logText(dead[0].lastError, deliveryIds) : null;
    this.log.warn({ deliveryIds, lastError }, 'deliveries dead');
    this.deps.observer?.deliveriesDead?.(this.destination.id, dead.length, lastError);
  }

  /** Sleeps up to `ms`; `wake` ends it early, and a stopping loop does not sleep. */
  private sleep(ms: number): Promise<void> {
    return this.stopping ? Promise.resolve() : this.sleeper.sleep(ms);
  }

  private wake(): void {
    this.sleeper.wake();
  }

  private errorText(text: string): string {
    return redactText(text, this.secrets).slice(0, MAX_ERROR_CHARS);
  }

  /** An error text for a log line or an alert: errorText, and no id of the customers of these deliveries. */
  private logText(text: string, deliveryIds: readonly string[]): string {
    const ids = deliveryIds.flatMap((deliveryId) => {
      const event = this.eventsInFlight.get(deliveryId);
      return event ? customerIdsOf(event) : [];
    });
    return redactUserIds(redactText(text, this.secrets), ids).slice(0, MAX_ERROR_CHARS);
  }
}
