import {
  allows,
  INTERRUPTED_ERROR,
  interruptedTooOftenError,
  MAX_INTERRUPTIONS,
  completionInto,
  DESTINATION_REMOVED,
  erasureIdsOf,
  statesFrom,
  stateAfter,
  StoreInputError,
  type AlertClaim,
  type AlertHold,
  type AttemptRow,
  type DeliveryRow,
  type DeliveryState,
  type DeliveryTransition,
  type DeliveryUpdate,
  type DestinationPause,
  type EventDetail,
  type EventRow,
  type IngestEvent,
  type LeasedDelivery,
  type LeaseRenewal,
  type LeaseRequest,
  type ListFilter,
  type NewDelivery,
  type PruneResult,
  type Reassignment,
  type RetentionCutoffs,
  type ReplaySelector,
  type StateCandidate,
  type StateVerdict,
  type Store,
  type StoreStats,
  type StoredPauseCause,
  type UnsentAlert,
} from '@ferry/core';
import { MemoryAlerts } from './memory-alerts';
import { claimStates, customerOf, eraseMarks, settleClaim, type ProfileMark } from './memory-state-marks';

/** A delivery as this store keeps it: the row, its retry window, lease holder and attempt log. */
export interface MemoryDelivery extends DeliveryRow {
  readonly windowStartMs: number;
  readonly leaseOwner: string | null;
  /** Attempts in a row its runner stopped during (lease taken over or released after a crash). */
  readonly interruptions: number;
  readonly attemptLog: readonly AttemptRow[];
}

/** What several `MemoryStore`s share, like runners sharing one database. */
export class MemoryDatabase {
  readonly events = new Map<string, EventRow & { readonly body: string }>();
  readonly deliveries = new Map<string, MemoryDelivery>();
  /** Event id → the order it was received in (the SQL stores' `received_seq`). */
  readonly receivedSeqs = new Map<string, number>();
  /** `destinationId \0 profile` → the state the destination accepted for the profile, and the claim in flight. */
  readonly profileMarks = new Map<string, ProfileMark>();
  /** `destinationId \0 profile` → every user id of the events that reached it, so erasure finds it. */
  readonly profileUsers = new Map<string, Set<string>>();
  readonly pauses = new Map<string, DestinationPause>();
  readonly alerts = new MemoryAlerts();
  /** Event id → every user id it names (the SQL stores' event_users). */
  readonly eventUsers = new Map<string, ReadonlySet<string>>();
  nextId = 1;
}

/** Replay works through this many ids, or the deliveries of this many events, at a time, as the SQL stores do. */
const CHUNK = 500;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/**
 * The `Store` port in memory, for engine tests (the engine may not import @ferry/store). It passes the
 * same contract suite as the SQL stores (memory-store.spec.ts), so engine tests cannot pass on behaviour
 * the real stores lack.
 */
export class MemoryStore implements Store {
  /** Every `complete` call, to check outcomes are written together. */
  readonly completions: DeliveryUpdate[][] = [];
  private closed = false;

  constructor(private readonly database = new MemoryDatabase()) {}

  async migrate(): Promise<void> {}

  async ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<'stored' | 'duplicate'> {
    this.open();
    if (this.database.events.has(event.id)) return 'duplicate';
    if (new Set(deliveries.map((d) => d.destinationId)).size < deliveries.length) {
      throw new Error('unique (event, destination): two deliveries of one event to one destination');
    }
    const { id, source, type, kind, userId, environment, timestampMs, body } = event;
    this.database.events.set(id, { id, source, type, kind, userId, environment, timestampMs, receivedAtMs: nowMs, body });
    this.database.receivedSeqs.set(id, this.database.receivedSeqs.size + 1);
    this.database.eventUsers.set(id, new Set(erasureIdsOf(event)));
    for (const planned of deliveries) {
      const deliveryId = `d${String(this.database.nextId++).padStart(9, '0')}`;
      this.put({
        id: deliveryId,
        eventId: id,
        destinationId: planned.destinationId,
        state: planned.state,
        attempts: 0,
        // Skipped is final; paused ones fall due when their destination resumes.
        nextAttemptAtMs: planned.state === 'skipped' ? null : nowMs,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: planned.reason ?? null,
        deliveredAtMs: null,
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
        windowStartMs: nowMs,
        interruptions: 0,
        attemptLog: [],
      });
    }
    return 'stored';
  }

  async lease(request: LeaseRequest): Promise<LeasedDelivery[]> {
    const { destinationId, limit, nowMs, leaseMs, owner } = request;
    const maxBytes = request.maxBytes ?? Infinity;
    const taken: MemoryDelivery[] = [];
    let bytes = 0;
    let full = false;
    const take = (transition: DeliveryTransition, due: (row: MemoryDelivery) => boolean, order: (row: MemoryDelivery) => number) => {
      const candidates = this.rows(destinationId)
        .filter((row) => allows(transition, row.state) && due(row))
        .sort((a, b) => order(a) - order(b) || a.id.localeCompare(b.id))
        .slice(0, limit - taken.length);
      // A lease taken over was being sent when its holder stopped: an attempt, and maybe the last one.
      const interrupted = transition === 'takeOver';
      for (const candidate of interrupted ? this.interrupt(candidates, nowMs) : candidates) {
        const size = Buffer.byteLength(this.database.events.get(candidate.eventId)!.body);
        // At least one delivery, however large, so a huge webhook still goes (alone).
        if (taken.length > 0 && bytes + size > maxBytes) {
          full = true;
          return;
        }
        bytes += size;
        const row = this.database.deliveries.get(candidate.id)!;
        const leased: MemoryDelivery = {
          ...row,
          state: stateAfter(transition) as 'in_flight',
          leaseUntilMs: nowMs + leaseMs,
          leaseOwner: owner,
          updatedAtMs: nowMs,
          ...(interrupted ? { attempts: row.attempts + 1, interruptions: row.interruptions + 1 } : {}),
        };
        taken.push(leased);
        this.put(leased);
      }
    };
    const dueAt = (row: MemoryDelivery) => row.nextAttemptAtMs ?? 0;
    if (limit <= 0) return [];
    if (request.from === 'paused') {
      take('probe', () => true, dueAt);
    } else {
      // Leases of crashed or stalled holders first: they have waited longest.
      take(
        'takeOver',
        (row) => (row.leaseUntilMs ?? 0) < nowMs,
        (row) => row.leaseUntilMs ?? 0,
      );
      if (taken.length < limit && !full) take('lease', (row) => dueAt(row) <= nowMs, dueAt);
    }
    return taken.map((row) => ({
      id: row.id,
      eventId: row.eventId,
      destinationId: row.destinationId,
      attempts: row.attempts,
      windowStartMs: row.windowStartMs,
      body: this.database.events.get(row.eventId)!.body,
    }));
  }

  /**
   * Logs an interrupted attempt for each of these in-flight deliveries and sets aside (dead) those
   * interrupted `MAX_INTERRUPTIONS` times in a row; the caller moves the others on (leased again, or released).
   */
  private interrupt(rows: readonly MemoryDelivery[], nowMs: number): MemoryDelivery[] {
    const resumed: MemoryDelivery[] = [];
    for (const row of rows) {
      const attemptLog = [
        ...row.attemptLog,
        {
          deliveryId: row.id,
          number: row.attempts + 1,
          startedAtMs: nowMs,
          durationMs: 0,
          status: null,
          outcome: 'retry' as const,
          error: INTERRUPTED_ERROR,
        },
      ];
      if (row.interruptions + 1 < MAX_INTERRUPTIONS) {
        this.put({ ...row, attemptLog });
        resumed.push(row);
        continue;
      }
      this.put({
        ...row,
        attemptLog,
        state: stateAfter('abandon'),
        attempts: row.attempts + 1,
        // The reason keeps the count; a replay starts a fresh one.
        interruptions: 0,
        nextAttemptAtMs: null,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: interruptedTooOftenError(MAX_INTERRUPTIONS),
        updatedAtMs: nowMs,
      });
    }
    return resumed;
  }

  async renewLeases(renewal: LeaseRenewal): Promise<string[]> {
    const { deliveryIds, owner, nowMs, leaseMs } = renewal;
    const held: string[] = [];
    for (const id of deliveryIds) {
      const row = this.leasedBy(id, owner);
      if (!row) continue;
      this.put({ ...row, leaseUntilMs: nowMs + leaseMs, updatedAtMs: nowMs });
      held.push(id);
    }
    return held;
  }

  async heldLeases(deliveryIds: readonly string[], owner: string): Promise<string[]> {
    return deliveryIds.filter((id) => this.leasedBy(id, owner) !== undefined);
  }

  /** The delivery, if `owner` holds it: in flight under its lease. */
  private leasedBy(id: string, owner: string) {
    const row = this.database.deliveries.get(id);
    return row !== undefined && allows('takeOver', row.state) && row.leaseOwner === owner ? row : undefined;
  }

  async complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void> {
    this.completions.push([...updates]);
    for (const update of updates) {
      const { state, attempt } = update;
      const row = this.database.deliveries.get(update.deliveryId);
      // A lost lease: it expired and someone else holds it now, or it was released.
      if (!row || !allows(completionInto(state), row.state) || row.leaseOwner !== owner) continue;
      const attempts = row.attempts + (attempt ? 1 : 0);
      settleClaim(this.database, row.destinationId, update);
      this.put({
        ...row,
        state,
        attempts,
        attemptLog: attempt ? [...row.attemptLog, { deliveryId: row.id, number: attempts, ...attempt }] : row.attemptLog,
        // Paused ones keep the time they fell due (probes take the oldest first); final states need none.
        nextAttemptAtMs: state === 'pending' ? (update.nextAttemptAtMs ?? nowMs) : state === 'paused' ? row.nextAttemptAtMs : null,
        leaseUntilMs: null,
        leaseOwner: null,
        // Its holder finished the attempt: interruptions are counted in a row.
        interruptions: 0,
        lastStatus: update.lastStatus !== undefined ? update.lastStatus : attempt ? attempt.status : row.lastStatus,
        lastError: update.lastError !== undefined ? update.lastError : attempt ? attempt.error : row.lastError,
        deliveredAtMs: state === 'delivered' ? nowMs : row.deliveredAtMs,
        updatedAtMs: nowMs,
      });
    }
  }

  async releaseLeases(owner?: string): Promise<number> {
    const nowMs = Date.now();
    const held = this.rows().filter((row) => allows('release', row.state) && (owner === undefined || row.leaseOwner === owner));
    // Released after a crash: the runner stopped while sending them, as when a lease is taken over.
    for (const row of this.interrupt(held, nowMs)) {
      const logged = this.database.deliveries.get(row.id)!;
      this.put({
        ...logged,
        state: stateAfter('release'),
        attempts: row.attempts + 1,
        interruptions: row.interruptions + 1,
        leaseUntilMs: null,
        leaseOwner: null,
        lastStatus: null,
        lastError: INTERRUPTED_ERROR,
        updatedAtMs: nowMs,
      });
    }
    return held.length;
  }

  async setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number> {
    const transition = paused ? 'pause' : 'resume';
    const moving = this.rows(destinationId).filter((row) => allows(transition, row.state));
    // Resumed deliveries are due at once.
    for (const row of moving)
      this.put({ ...row, state: stateAfter(transition), nextAttemptAtMs: paused ? row.nextAttemptAtMs : nowMs, updatedAtMs: nowMs });
    return moving.length;
  }

  async pauseDestination(pause: DestinationPause): Promise<DestinationPause> {
    this.open();
    const current = this.database.pauses.get(pause.destinationId);
    // An operator's pause replaces a credentials pause; a credentials pause leaves any pause in place.
    if (!current || (pause.cause === 'operator' && current.cause !== 'operator'))
      this.database.pauses.set(pause.destinationId, { ...pause });
    await this.setPaused(pause.destinationId, true, pause.sinceMs);
    return this.database.pauses.get(pause.destinationId)!;
  }

  async resumeDestination(destinationId: string, nowMs: number, cause?: StoredPauseCause): Promise<DestinationPause | undefined> {
    this.open();
    const current = this.database.pauses.get(destinationId);
    if (current && (cause === undefined || current.cause === cause)) this.database.pauses.delete(destinationId);
    const left = this.database.pauses.get(destinationId);
    if (!left) await this.setPaused(destinationId, false, nowMs);
    return left;
  }

  async claimAlert(claim: AlertClaim): Promise<boolean> {
    this.open();
    return this.database.alerts.claim(claim);
  }

  async holdAlerts(hold: AlertHold): Promise<UnsentAlert[]> {
    this.open();
    return this.database.alerts.hold(hold);
  }

  async alertSent(key: string, target: number): Promise<void> {
    this.open();
    this.database.alerts.sent(key, target);
  }

  async releaseAlerts(owner: string): Promise<number> {
    this.open();
    return this.database.alerts.release(owner);
  }

  async pruneAlertClaims(beforeMs: number, limit: number): Promise<number> {
    this.open();
    return this.database.alerts.prune(beforeMs, limit);
  }

  async destinationPauses(destinationId?: string): Promise<DestinationPause[]> {
    this.open();
    return [...this.database.pauses.values()]
      .filter((pause) => destinationId === undefined || pause.destinationId === destinationId)
      .sort((a, b) => a.destinationId.localeCompare(b.destinationId));
  }

  async nextDueAtMs(destinationId: string): Promise<number | undefined> {
    const times = this.rows(destinationId)
      .filter((row) => row.state === 'pending')
      .map((row) => row.nextAttemptAtMs ?? 0);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  async listEvents(filter: ListFilter): Promise<EventRow[]> {
    const cursor = filter.before === undefined ? undefined : this.cursor('event', filter.before);
    return [...this.database.events.values()]
      .filter(
        (event) =>
          (filter.userId === undefined || event.userId === filter.userId) &&
          (filter.type === undefined || event.type === filter.type) &&
          (filter.sinceMs === undefined || event.receivedAtMs >= filter.sinceMs) &&
          (filter.untilMs === undefined || event.receivedAtMs < filter.untilMs) &&
          ((filter.state === undefined && filter.destinationId === undefined) ||
            this.rows(filter.destinationId).some(
              (d) => d.eventId === event.id && (filter.state === undefined || d.state === filter.state),
            )),
      )
      .map(({ body: _body, ...row }) => ({ ...row, atMs: row.receivedAtMs }))
      .filter((row) => cursor === undefined || before(row, cursor))
      .sort(newestFirst)
      .slice(0, pageSize(filter.limit))
      .map(({ atMs: _atMs, ...row }) => row);
  }

  async listDeliveries(filter: ListFilter): Promise<DeliveryRow[]> {
    const cursor = filter.before === undefined ? undefined : this.cursor('delivery', filter.before);
    return this.rows(filter.destinationId)
      .filter((row) => {
        const event = this.database.events.get(row.eventId)!;
        return (
          (filter.state === undefined || row.state === filter.state) &&
          (filter.sinceMs === undefined || row.createdAtMs >= filter.sinceMs) &&
          (filter.untilMs === undefined || row.createdAtMs < filter.untilMs) &&
          (filter.userId === undefined || event.userId === filter.userId) &&
          (filter.type === undefined || event.type === filter.type)
        );
      })
      .map((row) => ({ ...deliveryRow(row), atMs: row.createdAtMs }))
      .filter((row) => cursor === undefined || before(row, cursor))
      .sort(newestFirst)
      .slice(0, pageSize(filter.limit))
      .map(({ atMs: _atMs, ...row }) => row);
  }

  async getEvent(id: string): Promise<EventDetail | undefined> {
    const event = this.database.events.get(id);
    if (!event) return undefined;
    const deliveries = this.rows()
      .filter((row) => row.eventId === id)
      .sort((a, b) => a.destinationId.localeCompare(b.destinationId))
      .map((row) => ({ ...deliveryRow(row), attemptLog: row.attemptLog }));
    return { ...event, deliveries };
  }

  async claimSubscriptionState(
    destinationId: string,
    candidates: readonly StateCandidate[],
    nowMs: number,
  ): Promise<ReadonlyMap<string, StateVerdict>> {
    this.open();
    return claimStates(this.database, destinationId, candidates, nowMs);
  }

  async replay(selector: ReplaySelector, nowMs: number, onProgress?: (replayed: number) => void): Promise<number> {
    const { deliveryIds, eventIds, fromMs, toMs, destinationId } = selector;
    if (deliveryIds === undefined && eventIds === undefined && fromMs === undefined && toMs === undefined) {
      throw new Error('replay: give deliveryIds, eventIds, or a fromMs/toMs window');
    }
    // Whatever the selector asks for, only states the table lets replay.
    const states = new Set((selector.states ?? ['dead', 'skipped']).filter((state) => allows('replay', state)));
    const inWindow = (eventId: string) => {
      const { receivedAtMs } = this.database.events.get(eventId)!;
      return (fromMs === undefined || receivedAtMs >= fromMs) && (toMs === undefined || receivedAtMs < toMs);
    };
    const selected = (row: MemoryDelivery) =>
      states.has(row.state as 'dead') &&
      (destinationId === undefined || row.destinationId === destinationId) &&
      (deliveryIds === undefined || deliveryIds.includes(row.id)) &&
      (eventIds === undefined || eventIds.includes(row.eventId)) &&
      inWindow(row.eventId);
    // Batches as the SQL stores make them: CHUNK ids of a list, or the deliveries of CHUNK events of a window.
    const byIds = deliveryIds !== undefined || eventIds !== undefined;
    const keys = byIds
      ? [...new Set([...(deliveryIds ?? []), ...(eventIds ?? [])])]
      : [...this.database.events.values()]
          .filter((event) => inWindow(event.id))
          .sort((a, b) => a.receivedAtMs - b.receivedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .map((event) => event.id);
    if (states.size === 0 || keys.length === 0) return 0;
    let replayed = 0;
    for (let i = 0; i < keys.length; i += CHUNK) {
      const batch = new Set(keys.slice(i, i + CHUNK));
      for (const row of this.rows().filter((row) => (batch.has(row.id) || batch.has(row.eventId)) && selected(row))) {
        this.put({
          ...row,
          state: stateAfter('replay'),
          nextAttemptAtMs: nowMs,
          windowStartMs: nowMs,
          leaseUntilMs: null,
          leaseOwner: null,
          deliveredAtMs: null,
          updatedAtMs: nowMs,
        });
        replayed += 1;
      }
      onProgress?.(replayed);
      await yieldToEventLoop();
    }
    return replayed;
  }

  async dropOrphans(destinationId: string, nowMs: number): Promise<number> {
    const dropped = this.rows(destinationId).filter((row) => waitingOrphan('dropOrphan', row, nowMs));
    for (const row of dropped) {
      this.put({
        ...row,
        state: stateAfter('dropOrphan'),
        lastError: DESTINATION_REMOVED,
        nextAttemptAtMs: null,
        leaseUntilMs: null,
        leaseOwner: null,
        updatedAtMs: nowMs,
      });
    }
    return dropped.length;
  }

  async reassignOrphans(fromDestinationId: string, toDestinationId: string, nowMs: number): Promise<Reassignment> {
    const waiting = this.rows(fromDestinationId).filter((row) => waitingOrphan('reassignOrphan', row, nowMs));
    // An event that already has a delivery to the new destination keeps it.
    const taken = new Set(this.rows(toDestinationId).map((row) => row.eventId));
    const moving = waiting.filter((row) => !taken.has(row.eventId));
    for (const row of moving) {
      this.put({
        ...row,
        destinationId: toDestinationId,
        state: stateAfter('reassignOrphan'),
        nextAttemptAtMs: nowMs,
        windowStartMs: nowMs,
        leaseUntilMs: null,
        leaseOwner: null,
        updatedAtMs: nowMs,
      });
    }
    return { reassigned: moving.length, kept: waiting.length - moving.length };
  }

  async prune(cutoffs: RetentionCutoffs, onProgress?: (removed: number) => void, signal?: AbortSignal): Promise<PruneResult> {
    this.open();
    const expiring = statesFrom('expire') as readonly DeliveryState[];
    const old = [...this.database.events.values()]
      .filter((event) => event.receivedAtMs < Math.max(cutoffs.finalBeforeMs, cutoffs.deadBeforeMs))
      .sort((a, b) => a.receivedAtMs - b.receivedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let removed = 0;
    for (let i = 0; i < old.length && !signal?.aborted; i += CHUNK) {
      const expired = old.slice(i, i + CHUNK).filter((event) => {
        const states = this.rows()
          .filter((row) => row.eventId === event.id)
          .map((row) => row.state);
        if (!states.every((state) => expiring.includes(state))) return false;
        return event.receivedAtMs < (states.includes('dead') ? cutoffs.deadBeforeMs : cutoffs.finalBeforeMs);
      });
      removed += this.removeEvents(expired.map((event) => event.id));
      onProgress?.(removed);
      await yieldToEventLoop();
    }
    return { removed, busy: false };
  }

  async erase(appUserId: string): Promise<number> {
    this.open();
    const named = [...this.database.eventUsers].filter(([, users]) => users.has(appUserId)).map(([eventId]) => eventId);
    eraseMarks(this.database, customerOf(this.database, appUserId));
    return this.removeEvents(named);
  }

  /** Events with their deliveries (and so their attempt logs): the one way events leave, as in the SQL stores. */
  private removeEvents(eventIds: readonly string[]): number {
    const ids = new Set(eventIds);
    for (const row of this.rows()) if (ids.has(row.eventId)) this.database.deliveries.delete(row.id);
    let removed = 0;
    for (const id of ids) {
      if (this.database.events.delete(id)) removed += 1;
      this.database.eventUsers.delete(id);
    }
    return removed;
  }

  async stats(nowMs: number): Promise<StoreStats> {
    const counts = new Map<string, { destinationId: string; state: DeliveryRow['state']; count: number }>();
    const dueAt = new Map<string, number>();
    for (const row of this.rows()) {
      const key = `${row.destinationId}\u0000${row.state}`;
      const entry = counts.get(key) ?? { destinationId: row.destinationId, state: row.state, count: 0 };
      counts.set(key, { ...entry, count: entry.count + 1 });
      if (row.state === 'pending' && row.nextAttemptAtMs !== null && row.nextAttemptAtMs <= nowMs) {
        dueAt.set(row.destinationId, Math.min(dueAt.get(row.destinationId) ?? Infinity, row.nextAttemptAtMs));
      }
    }
    const deliveries = [...counts.values()].sort(
      (a, b) => a.destinationId.localeCompare(b.destinationId) || a.state.localeCompare(b.state),
    );
    return {
      deliveries,
      oldestPendingAgeMs: [...new Set(deliveries.map((row) => row.destinationId))].map((destinationId) => {
        const due = dueAt.get(destinationId);
        return { destinationId, ageMs: due === undefined ? 0 : nowMs - due };
      }),
      events: this.database.events.size,
    };
  }

  async ping(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Every delivery (of one destination), in the order they were stored. */
  rows(destinationId?: string): MemoryDelivery[] {
    return [...this.database.deliveries.values()].filter((row) => destinationId === undefined || row.destinationId === destinationId);
  }

  row(eventId: string, destinationId: string): MemoryDelivery {
    const row = this.rows(destinationId).find((candidate) => candidate.eventId === eventId);
    if (!row) throw new Error(`no delivery of ${eventId} to ${destinationId}`);
    return row;
  }

  private cursor(table: 'event' | 'delivery', id: string): { id: string; atMs: number } {
    const atMs = table === 'event' ? this.database.events.get(id)?.receivedAtMs : this.database.deliveries.get(id)?.createdAtMs;
    if (atMs === undefined) throw new StoreInputError(`no ${table} with id ${JSON.stringify(id)}`, 'before');
    return { id, atMs };
  }

  private open(): void {
    if (this.closed) throw new Error('store is closed');
  }

  private put(row: MemoryDelivery): void {
    this.database.deliveries.set(row.id, row);
  }
}

/** As the SQL stores yield between batches, so that a test sees other work run during a long replay. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A waiting delivery an orphan operation may change: in-flight ones only once their lease expired. */
function waitingOrphan(transition: 'dropOrphan' | 'reassignOrphan', row: MemoryDelivery, nowMs: number): boolean {
  return allows(transition, row.state) && (row.state !== 'in_flight' || (row.leaseUntilMs ?? 0) < nowMs);
}

function deliveryRow(row: MemoryDelivery): DeliveryRow {
  const { windowStartMs: _window, leaseOwner: _owner, interruptions: _interruptions, attemptLog: _log, ...delivery } = row;
  return delivery;
}

/** Keyset order and cursor, as in the SQL stores: (time, id) descending. */
function newestFirst(a: { atMs: number; id: string }, b: { atMs: number; id: string }): number {
  return b.atMs - a.atMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function before(row: { atMs: number; id: string }, cursor: { atMs: number; id: string }): boolean {
  return row.atMs < cursor.atMs || (row.atMs === cursor.atMs && row.id < cursor.id);
}

function pageSize(limit: number | undefined): number {
  const wanted = limit !== undefined && Number.isFinite(limit) ? Math.floor(limit) : DEFAULT_LIMIT;
  return Math.min(Math.max(wanted, 1), MAX_LIMIT);
}
