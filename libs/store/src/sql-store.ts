import { randomUUID } from 'node:crypto';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import {
  allows,
  completionInto,
  type AlertClaim,
  type AlertHold,
  stateAfter,
  statesFrom,
  type AttemptRow,
  type DeliveryRow,
  type DeliveryUpdate,
  type DestinationPause,
  type DeliveryState,
  type EventDetail,
  type EventRow,
  type IngestEvent,
  type LeasedDelivery,
  type LeaseRenewal,
  type LeaseRequest,
  type ListFilter,
  type Logger,
  type NewDelivery,
  type PruneResult,
  type Reassignment,
  type ReplaySelector,
  type RetentionCutoffs,
  type StateCandidate,
  type StateVerdict,
  type Store,
  type StoreStats,
  type StoredPauseCause,
  type UnsentAlert,
} from '@ferry/core';
import {
  DESTINATION_REMOVED,
  erasureIdsOf,
  INTERRUPTED_ERROR,
  interruptedTooOftenError,
  MAX_INTERRUPTIONS,
  StoreInputError,
} from '@ferry/core';
import * as alertOutbox from './alert-outbox';
import type { Database, DeliveriesTable } from './database';
import { BatchPace } from './batch-pace';
import { CommitHealth } from './commit-health';
import { GroupCommit } from './group-commit';
import { runMigrations, type Dialect } from './migrations';
import { claimStates, customerOf, eraseMarks, settleClaims, type Settlement } from './state-marks';
import { userKey } from './user-key';

export interface StoreOptions {
  readonly logger?: Logger;
}

interface Ingest {
  readonly event: IngestEvent;
  readonly deliveries: readonly NewDelivery[];
  readonly nowMs: number;
}

/** One distinct event of a group commit, and its place among them in arrival order (0, 1, …): its `received_seq` follows that. */
export interface IngestRow extends Ingest {
  readonly arrival: number;
}

type IngestResult = 'stored' | 'duplicate';
type DeliveryFilter = (eb: ExpressionBuilder<Database, 'deliveries'>) => Expression<SqlBool>;

/** Most events in one group commit. */
const MAX_GROUP = 500;
/** Most events waiting for a group commit while the database is slow; beyond it ingest fails (the webhook gets 503). */
const MAX_WAITING = 10 * MAX_GROUP;
/** Most rows or ids in one statement: well under SQLite's 32766 and Postgres's 65535 parameters. */
const CHUNK = 500;
const DEFAULT_LIMIT = 50;
/** Write transactions between two folds of the delivery counters, when no `stats` call folds them first. */
const FOLD_EVERY = 1_000;
const MAX_LIMIT = 500;

const EVENT_COLUMNS = ['id', 'source', 'type', 'kind', 'userId', 'environment', 'timestampMs', 'receivedAtMs'] as const;
const DELIVERY_COLUMNS = [
  'id',
  'eventId',
  'destinationId',
  'state',
  'attempts',
  'nextAttemptAtMs',
  'leaseUntilMs',
  'lastStatus',
  'lastError',
  'deliveredAtMs',
  'createdAtMs',
  'updatedAtMs',
] as const;

/**
 * A delivery's state read from its row, never looked up through an index. Beside `id IN (…)` or `eventId IN
 * (…)`, SQLite (which keeps no statistics) would otherwise walk that state's whole range of an index instead
 * of finding the listed rows by key: every in-flight delivery for each batch completed, say.
 */
const stateOfRow = sql<DeliveryState>`(${sql.ref('state')} || '')`;

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

/**
 * The `Store` port on any SQL database Kysely speaks. Subclasses supply the connection and the two
 * things that differ: how migrations are serialised, and whether leasing needs row locks.
 *
 * Lost leases: `complete` only touches deliveries still `in_flight` under the caller's lease (one
 * that expired and was released, or taken over by another runner, is left alone, and logged), so a
 * late answer never overwrites a newer state or adds an attempt to a delivery it no longer holds.
 */
export abstract class SqlStore implements Store {
  private readonly ingests = new GroupCommit<Ingest, IngestResult>(
    (items) => this.commitIngests(items),
    MAX_GROUP,
    () => this.reachable(),
    MAX_WAITING,
  );
  private commits = 0;
  private readonly commitHealth = new CommitHealth();
  private closed = false;
  private writesSinceFold = 0;
  private folding: Promise<void> | undefined;
  protected readonly logger: Logger;
  /** Postgres: lease with `FOR UPDATE SKIP LOCKED` so concurrent runners never take the same delivery. */
  private readonly rowLocks: boolean;
  /** Whether the per-user marks of before migration 10 hold any row: asked once, as nothing adds to them since. */
  private legacyMarks: boolean | undefined;

  protected constructor(
    protected readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    options: StoreOptions,
  ) {
    this.rowLocks = dialect === 'postgres';
    this.logger = options.logger ?? silentLogger;
  }

  /** Serialises concurrent migrators; runs first in the migration transaction. */
  protected abstract lockForMigration(trx: Transaction<Database>): Promise<void>;

  /**
   * The moment `nowMs` on the clock leases and due times are judged by (expiry, `leaseUntilMs`, when a
   * delivery falls due). SQLite has one runner, so its clock is the caller's; Postgres judges by the
   * database's clock, so runners with skewed clocks agree.
   */
  protected abstract leaseClock(nowMs: number): RawBuilder<number>;

  /** SQL for the UTF-8 length in bytes of the `events.body` column. */
  protected abstract readonly bodyBytes: string;

  /** Whether the database refused a statement for the values in it (a data or constraint error), not for its own state. */
  protected abstract refusedValues(error: unknown): boolean;

  /** Merges the counter rows of connections that ended into slot 0 (Postgres); nothing to do on SQLite. */
  protected abstract foldCounts(): Promise<void>;

  /** Postgres: whether this transaction may prune (no other store is pruning); SQLite's single writer always may. */
  protected abstract tryLockPruning(trx: Transaction<Database>): Promise<boolean>;

  /** SQLite: gives the pages a prune or erase freed back to the file system, in the same transaction. */
  protected abstract reclaimSpace(trx: Transaction<Database>): Promise<void>;

  /** SQLite: moves what an erase left in the WAL into the database file (already overwritten there) and empties the WAL. */
  protected abstract afterErase(): Promise<void>;

  /**
   * Between two batches of retention or erasure, once the event loop has run: SQLite lets the webhooks that
   * arrived go first and checkpoints the batch's pages; Postgres, whose webhooks never wait for a batch, nothing.
   */
  protected abstract afterBatch(wrote: boolean): Promise<void>;

  /**
   * Inserts one group commit's events (distinct ids, in id order) in one transaction: each event not stored
   * yet with its deliveries and user keys, `received_seq` numbered on in arrival order. Answers the ids it
   * inserted; the others were stored already. The hottest path of ingest, so each dialect does it its fastest way.
   */
  protected abstract insertIngests(rows: readonly IngestRow[]): Promise<ReadonlySet<string>>;

  /** How many ingest transactions have committed: fewer than events ingested when group commit works. */
  get ingestCommits(): number {
    return this.commits;
  }

  migrate(): Promise<void> {
    return runMigrations(this.db, this.dialect, (trx) => this.lockForMigration(trx), Date.now());
  }

  ingest(event: IngestEvent, deliveries: readonly NewDelivery[], nowMs: number): Promise<IngestResult> {
    // A refused event failed alone (group commit retries each item of a failed group on its own).
    return this.ingests.submit({ event, deliveries, nowMs }).catch((error: unknown) => {
      if (!this.refusedValues(error)) throw error;
      // The database's own message may quote the values: it stays in `cause`, for the log only.
      throw new StoreInputError('the store cannot keep this event as it is', undefined, { cause: error });
    });
  }

  private async commitIngests(items: readonly Ingest[]): Promise<IngestResult[]> {
    // A second copy of an id in the same group is a duplicate of the first.
    const firstIndex = new Map<string, number>();
    items.forEach((item, i) => {
      if (!firstIndex.has(item.event.id)) firstIndex.set(item.event.id, i);
    });
    // Numbered in the order they arrived (items are in submission order), then inserted in id order, so two
    // runners inserting overlapping groups take row locks in the same order (no deadlock).
    const rows = items
      .filter((item, i) => firstIndex.get(item.event.id) === i)
      .map((item, arrival) => ({ ...item, arrival }))
      .sort((a, b) => (a.event.id < b.event.id ? -1 : 1));
    let stored: ReadonlySet<string>;
    try {
      stored = await this.insertIngests(rows);
    } catch (error) {
      if (!this.refusedValues(error)) this.commitHealth.failed(error);
      throw error;
    }
    this.commitHealth.succeeded();
    this.commits += 1;
    return items.map((item, i) => (firstIndex.get(item.event.id) === i && stored.has(item.event.id) ? 'stored' : 'duplicate'));
  }

  async lease(request: LeaseRequest): Promise<LeasedDelivery[]> {
    const { destinationId, limit, nowMs, leaseMs, owner } = request;
    if (limit <= 0) return [];
    const maxBytes = request.maxBytes ?? Infinity;
    const now = this.leaseClock(nowMs);
    return this.write(async (trx) => {
      const taken: Omit<LeasedDelivery, 'body'>[] = [];
      let bytes = 0;
      let full = false;
      const take = async (
        transition: 'lease' | 'takeOver' | 'probe',
        order: 'leaseUntilMs' | 'nextAttemptAtMs',
        where?: (eb: ExpressionBuilder<Database, 'deliveries' | 'events'>) => Expression<SqlBool>,
      ) => {
        // In order straight from the due index; the bodies' sizes, not the bodies: those of the deliveries picked
        // under the byte cap are read afterwards, so a backlog of huge webhooks never loads more than the cap.
        const candidates = await trx
          .selectFrom('deliveries')
          .innerJoin('events', 'events.id', 'deliveries.eventId')
          .select([
            'deliveries.id',
            'deliveries.eventId',
            'deliveries.destinationId',
            'deliveries.attempts',
            'deliveries.windowStartMs',
            'deliveries.interruptions',
            sql<number>`${sql.raw(this.bodyBytes)}`.as('bytes'),
          ])
          .where('deliveries.destinationId', '=', destinationId)
          .where('deliveries.state', 'in', statesFrom(transition))
          .$if(where !== undefined, (q) => q.where(where!))
          .orderBy(`deliveries.${order}`)
          .orderBy('deliveries.id')
          .limit(limit - taken.length)
          .$if(this.rowLocks, (q) => q.forUpdate('deliveries').skipLocked())
          .execute();
        // A lease taken over was being sent when its holder stopped: an attempt, and maybe the last one.
        const interrupted = transition === 'takeOver';
        const resumed = interrupted ? await this.interrupt(trx, candidates, nowMs) : candidates;
        const picked: typeof resumed = [];
        for (const candidate of resumed) {
          // At least one delivery, however large, so a huge webhook still goes (alone).
          if ((taken.length > 0 || picked.length > 0) && bytes + candidate.bytes > maxBytes) {
            full = true;
            break;
          }
          picked.push(candidate);
          bytes += candidate.bytes;
        }
        for (const ids of chunks(picked.map((row) => row.id))) {
          await trx
            .updateTable('deliveries')
            .set((eb) => ({
              state: stateAfter(transition),
              leaseUntilMs: sql<number>`${now} + ${leaseMs}`,
              leaseOwner: owner,
              updatedAtMs: nowMs,
              ...(interrupted ? { attempts: eb('attempts', '+', 1), interruptions: eb('interruptions', '+', 1) } : {}),
            }))
            .where('id', 'in', ids)
            .execute();
        }
        taken.push(
          ...picked.map(({ interruptions: _count, bytes: _bytes, ...leased }) => ({
            ...leased,
            attempts: leased.attempts + (interrupted ? 1 : 0),
          })),
        );
      };
      if (request.from === 'paused') {
        await take('probe', 'nextAttemptAtMs');
      } else {
        // Leases of crashed or stalled holders first: they have waited longest.
        await take('takeOver', 'leaseUntilMs', (eb) => eb('deliveries.leaseUntilMs', '<', now));
        if (taken.length < limit && !full) await take('lease', 'nextAttemptAtMs', (eb) => eb('deliveries.nextAttemptAtMs', '<=', now));
      }
      const bodies = new Map<string, string>();
      for (const ids of chunks([...new Set(taken.map((d) => d.eventId))])) {
        const rows = await trx.selectFrom('events').select(['id', 'body']).where('id', 'in', ids).execute();
        for (const row of rows) bodies.set(row.id, row.body);
      }
      // The foreign key guarantees every delivery its event.
      return taken.map((d) => ({ ...d, body: bodies.get(d.eventId)! }));
    });
  }

  /**
   * Records an interrupted attempt for each of these in-flight deliveries and sets aside (dead) those
   * interrupted `MAX_INTERRUPTIONS` times in a row; the caller moves the others on (leased again, or released).
   */
  private async interrupt<T extends { id: string; attempts: number; interruptions: number }>(
    trx: Transaction<Database>,
    rows: readonly T[],
    nowMs: number,
  ): Promise<T[]> {
    if (rows.length === 0) return [];
    for (const group of chunks(rows)) {
      await trx
        .insertInto('attempts')
        .values(
          group.map((row) => ({
            deliveryId: row.id,
            number: row.attempts + 1,
            startedAtMs: nowMs,
            durationMs: 0,
            status: null,
            outcome: 'retry' as const,
            error: INTERRUPTED_ERROR,
          })),
        )
        .execute();
    }
    const abandoned = rows.filter((row) => row.interruptions + 1 >= MAX_INTERRUPTIONS);
    for (const ids of chunks(abandoned.map((row) => row.id))) {
      await trx
        .updateTable('deliveries')
        .set((eb) => ({
          state: stateAfter('abandon'),
          attempts: eb('attempts', '+', 1),
          // The reason keeps the count; a replay starts a fresh one.
          interruptions: 0,
          nextAttemptAtMs: null,
          leaseUntilMs: null,
          leaseOwner: null,
          lastStatus: null,
          lastError: interruptedTooOftenError(MAX_INTERRUPTIONS),
          updatedAtMs: nowMs,
        }))
        .where('id', 'in', ids)
        .execute();
    }
    if (abandoned.length > 0) {
      this.logger.warn(
        { deliveryIds: abandoned.map((row) => row.id), reason: interruptedTooOftenError(MAX_INTERRUPTIONS) },
        'deliveries set aside as dead: their runner kept stopping while sending them',
      );
    }
    return rows.filter((row) => row.interruptions + 1 < MAX_INTERRUPTIONS);
  }

  async renewLeases(renewal: LeaseRenewal): Promise<string[]> {
    const { deliveryIds, owner, nowMs, leaseMs } = renewal;
    const now = this.leaseClock(nowMs);
    return this.write(async (trx) => {
      const held: string[] = [];
      for (const ids of chunks(deliveryIds)) {
        const rows = await trx
          .updateTable('deliveries')
          .set({ leaseUntilMs: sql<number>`${now} + ${leaseMs}`, updatedAtMs: nowMs })
          .where(leasedBy(owner, ids))
          .returning('id')
          .execute();
        held.push(...rows.map((row) => row.id));
      }
      return held;
    });
  }

  async heldLeases(deliveryIds: readonly string[], owner: string): Promise<string[]> {
    const held: string[] = [];
    for (const ids of chunks(deliveryIds)) {
      const rows = await this.db.selectFrom('deliveries').select('id').where(leasedBy(owner, ids)).execute();
      held.push(...rows.map((row) => row.id));
    }
    return held;
  }

  async complete(updates: readonly DeliveryUpdate[], nowMs: number, owner: string): Promise<void> {
    if (updates.length === 0) return;
    // Updates that change rows alike (a whole batch delivered, say) go out as one statement.
    const groups = new Map<string, { update: DeliveryUpdate; ids: string[] }>();
    for (const update of updates) {
      const key = JSON.stringify({ ...update, deliveryId: undefined, stateClaim: undefined });
      const group = groups.get(key);
      if (group) group.ids.push(update.deliveryId);
      else groups.set(key, { update, ids: [update.deliveryId] });
    }
    const lost: string[] = [];
    const now = this.leaseClock(nowMs);
    const claims = new Map(updates.flatMap((update) => (update.stateClaim ? [[update.deliveryId, update.stateClaim] as const] : [])));
    await this.write(async (trx) => {
      const settlements: Settlement[] = [];
      for (const { update, ids } of groups.values()) {
        const { state, attempt } = update;
        for (const group of chunks(ids)) {
          const rows = await trx
            .updateTable('deliveries')
            .set((eb) => ({
              state,
              attempts: attempt ? eb('attempts', '+', 1) : undefined,
              // Paused ones keep the time they fell due (probes take the oldest first); final states need none. A retry
              // falls due its delay after the lease clock's now, so a runner's skewed clock cannot make it early or late.
              nextAttemptAtMs:
                state === 'pending'
                  ? sql<number>`${now} + ${(update.nextAttemptAtMs ?? nowMs) - nowMs}`
                  : state === 'paused'
                    ? undefined
                    : null,
              leaseUntilMs: null,
              leaseOwner: null,
              // Its holder finished the attempt: interruptions are counted in a row.
              interruptions: 0,
              // Without new values, the last request's status and error stay (a dead delivery keeps them).
              lastStatus: update.lastStatus !== undefined ? update.lastStatus : attempt?.status,
              lastError: update.lastError !== undefined ? update.lastError : attempt?.error,
              deliveredAtMs: state === 'delivered' ? nowMs : undefined,
              updatedAtMs: nowMs,
            }))
            .where('id', 'in', group)
            .where(stateOfRow, 'in', statesFrom(completionInto(state)))
            .where('leaseOwner', '=', owner)
            .returning(['id', 'attempts', 'destinationId'])
            .execute();
          if (attempt && rows.length > 0) {
            await trx
              .insertInto('attempts')
              .values(rows.map((row) => ({ deliveryId: row.id, number: row.attempts, ...attempt })))
              .execute();
          }
          const applied = new Set(rows.map((row) => row.id));
          lost.push(...group.filter((id) => !applied.has(id)));
          for (const { id, destinationId } of rows) {
            const claim = claims.get(id);
            if (claim) settlements.push({ destinationId, deliveryId: id, ...claim });
          }
        }
      }
      if (settlements.length > 0) await settleClaims(trx, settlements);
    });
    if (lost.length > 0) {
      this.logger.warn({ deliveryIds: lost }, 'ignored outcomes for deliveries no longer leased (lease expired or released)');
    }
  }

  async releaseLeases(owner?: string): Promise<number> {
    const nowMs = Date.now();
    return this.write(async (trx) => {
      const held = await trx
        .selectFrom('deliveries')
        .select(['id', 'attempts', 'interruptions'])
        .where('state', 'in', statesFrom('release'))
        .$if(owner !== undefined, (q) => q.where('leaseOwner', '=', owner!))
        .$if(this.rowLocks, (q) => q.forUpdate())
        .execute();
      // Released after a crash: the runner stopped while sending them, as when a lease is taken over.
      const released = await this.interrupt(trx, held, nowMs);
      for (const ids of chunks(released.map((row) => row.id))) {
        await trx
          .updateTable('deliveries')
          .set((eb) => ({
            state: stateAfter('release'),
            attempts: eb('attempts', '+', 1),
            interruptions: eb('interruptions', '+', 1),
            leaseUntilMs: null,
            leaseOwner: null,
            lastStatus: null,
            lastError: INTERRUPTED_ERROR,
            updatedAtMs: nowMs,
          }))
          .where('id', 'in', ids)
          .execute();
      }
      return held.length;
    });
  }

  setPaused(destinationId: string, paused: boolean, nowMs: number): Promise<number> {
    return this.write((trx) => movePaused(trx, destinationId, paused, nowMs, this.leaseClock(nowMs)));
  }

  pauseDestination(pause: DestinationPause): Promise<DestinationPause> {
    return this.write(async (trx) => {
      // One statement, so two runners pausing at once cannot both insert: the precedence decides on conflict.
      await trx
        .insertInto('destinationPauses')
        .values(pause)
        .onConflict((oc) =>
          pause.cause === 'operator'
            ? oc
                .column('destinationId')
                .doUpdateSet({ cause: pause.cause, reason: pause.reason, sinceMs: pause.sinceMs, setBy: pause.setBy })
                .where('destinationPauses.cause', '<>', 'operator')
            : oc.column('destinationId').doNothing(),
        )
        .execute();
      await movePaused(trx, pause.destinationId, true, pause.sinceMs, this.leaseClock(pause.sinceMs));
      return trx.selectFrom('destinationPauses').selectAll().where('destinationId', '=', pause.destinationId).executeTakeFirstOrThrow();
    });
  }

  resumeDestination(destinationId: string, nowMs: number, cause?: StoredPauseCause): Promise<DestinationPause | undefined> {
    return this.write(async (trx) => {
      await trx
        .deleteFrom('destinationPauses')
        .where('destinationId', '=', destinationId)
        .$if(cause !== undefined, (q) => q.where('cause', '=', cause!))
        .execute();
      const left = await trx.selectFrom('destinationPauses').selectAll().where('destinationId', '=', destinationId).executeTakeFirst();
      if (!left) await movePaused(trx, destinationId, false, nowMs, this.leaseClock(nowMs));
      return left;
    });
  }

  destinationPauses(destinationId?: string): Promise<DestinationPause[]> {
    return this.db
      .selectFrom('destinationPauses')
      .selectAll()
      .$if(destinationId !== undefined, (q) => q.where('destinationId', '=', destinationId!))
      .orderBy('destinationId')
      .execute();
  }

  async nextDueAtMs(destinationId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.min('nextAttemptAtMs').as('dueAtMs'))
      .where('destinationId', '=', destinationId)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return row?.dueAtMs ?? undefined;
  }

  async listEvents(filter: ListFilter): Promise<EventRow[]> {
    const cursor = filter.before === undefined ? undefined : await this.cursor('events', filter.before);
    return this.db
      .selectFrom('events')
      .select(EVENT_COLUMNS)
      .$if(filter.userId !== undefined, (q) => q.where('userId', '=', filter.userId!))
      .$if(filter.type !== undefined, (q) => q.where('type', '=', filter.type!))
      .$if(filter.sinceMs !== undefined, (q) => q.where('receivedAtMs', '>=', filter.sinceMs!))
      .$if(filter.untilMs !== undefined, (q) => q.where('receivedAtMs', '<', filter.untilMs!))
      .$if(filter.state !== undefined || filter.destinationId !== undefined, (q) =>
        q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('deliveries')
              .select('deliveries.id')
              .whereRef('deliveries.eventId', '=', 'events.id')
              .$if(filter.state !== undefined, (s) => s.where('deliveries.state', '=', filter.state!))
              .$if(filter.destinationId !== undefined, (s) => s.where('deliveries.destinationId', '=', filter.destinationId!)),
          ),
        ),
      )
      .$if(cursor !== undefined, (q) =>
        q.where(({ eb, refTuple, tuple }) => eb(refTuple('receivedAtMs', 'id'), '<', tuple(cursor!.atMs, cursor!.id))),
      )
      .orderBy('receivedAtMs', 'desc')
      .orderBy('id', 'desc')
      .limit(pageSize(filter.limit))
      .execute();
  }

  async listDeliveries(filter: ListFilter): Promise<DeliveryRow[]> {
    const cursor = filter.before === undefined ? undefined : await this.cursor('deliveries', filter.before);
    return this.db
      .selectFrom('deliveries')
      .select(DELIVERY_COLUMNS)
      .$if(filter.state !== undefined, (q) => q.where('state', '=', filter.state!))
      .$if(filter.destinationId !== undefined, (q) => q.where('destinationId', '=', filter.destinationId!))
      .$if(filter.sinceMs !== undefined, (q) => q.where('createdAtMs', '>=', filter.sinceMs!))
      .$if(filter.untilMs !== undefined, (q) => q.where('createdAtMs', '<', filter.untilMs!))
      .$if(filter.userId !== undefined || filter.type !== undefined, (q) =>
        q.where('eventId', 'in', (eb) =>
          eb
            .selectFrom('events')
            .select('id')
            .$if(filter.userId !== undefined, (s) => s.where('userId', '=', filter.userId!))
            .$if(filter.type !== undefined, (s) => s.where('type', '=', filter.type!)),
        ),
      )
      .$if(cursor !== undefined, (q) =>
        q.where(({ eb, refTuple, tuple }) => eb(refTuple('createdAtMs', 'id'), '<', tuple(cursor!.atMs, cursor!.id))),
      )
      .orderBy('createdAtMs', 'desc')
      .orderBy('id', 'desc')
      .limit(pageSize(filter.limit))
      .execute();
  }

  /** Where a keyset page starts: the row named by `before`, which must exist. */
  private async cursor(table: 'events' | 'deliveries', id: string): Promise<{ id: string; atMs: number }> {
    const row =
      table === 'events'
        ? await this.db.selectFrom('events').select('receivedAtMs as atMs').where('id', '=', id).executeTakeFirst()
        : await this.db.selectFrom('deliveries').select('createdAtMs as atMs').where('id', '=', id).executeTakeFirst();
    if (!row) throw new StoreInputError(`no ${table === 'events' ? 'event' : 'delivery'} with id ${JSON.stringify(id)}`, 'before');
    return { id, atMs: row.atMs };
  }

  async getEvent(id: string): Promise<EventDetail | undefined> {
    const event = await this.db
      .selectFrom('events')
      .select([...EVENT_COLUMNS, 'body'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!event) return undefined;
    const deliveries = await this.db
      .selectFrom('deliveries')
      .select(DELIVERY_COLUMNS)
      .where('eventId', '=', id)
      .orderBy('destinationId')
      .execute();
    const attempts: AttemptRow[] = await this.db
      .selectFrom('attempts')
      .selectAll()
      .where('deliveryId', 'in', (eb) => eb.selectFrom('deliveries').select('id').where('eventId', '=', id))
      .orderBy('deliveryId')
      .orderBy('number')
      .execute();
    return {
      ...event,
      deliveries: deliveries.map((d) => ({ ...d, attemptLog: attempts.filter((a) => a.deliveryId === d.id) })),
    };
  }

  async claimSubscriptionState(
    destinationId: string,
    candidates: readonly StateCandidate[],
    nowMs: number,
  ): Promise<ReadonlyMap<string, StateVerdict>> {
    if (candidates.length === 0) return new Map();
    const now = this.leaseClock(nowMs);
    return this.write((trx) =>
      claimStates(trx, {
        destinationId,
        candidates,
        now,
        rowLocks: this.rowLocks,
        legacyMarks: async () => (this.legacyMarks ??= await hasRows(trx)),
      }),
    );
  }

  async replay(selector: ReplaySelector, nowMs: number, onProgress?: (replayed: number) => void): Promise<number> {
    const { deliveryIds, eventIds, fromMs, toMs, destinationId } = selector;
    if (deliveryIds === undefined && eventIds === undefined && fromMs === undefined && toMs === undefined) {
      throw new Error('replay: give deliveryIds, eventIds, or a fromMs/toMs window');
    }
    // Whatever the selector asks for, only states the table lets replay.
    const states = (selector.states ?? ['dead', 'skipped']).filter((state) => allows('replay', state));
    if (states.length === 0 || deliveryIds?.length === 0 || eventIds?.length === 0) return 0;
    const window = { fromMs, toMs };
    const byIds = deliveryIds !== undefined || eventIds !== undefined;
    let replayed = 0;
    // One short transaction per batch, each found through an index: nothing scans the whole table, and the
    // event loop runs (webhooks, health checks) between batches.
    for await (const batch of byIds ? idBatches(deliveryIds, eventIds) : this.windowBatches(window)) {
      const result = await this.write((trx) =>
        replayUpdate(
          trx,
          { batch, states, destinationId, window: byIds ? window : undefined },
          nowMs,
          this.leaseClock(nowMs),
        ).executeTakeFirst(),
      );
      replayed += Number(result.numUpdatedRows);
      onProgress?.(replayed);
      await yieldToEventLoop();
    }
    return replayed;
  }

  /** The deliveries of CHUNK events at a time received in the window, in (receivedAtMs, id) order on events_received_idx. */
  private async *windowBatches(window: ReplayWindow): AsyncGenerator<DeliveryFilter> {
    for (let after: EventCursor | undefined; ;) {
      const page = await windowPage(this.db, window, after).execute();
      if (page.length === 0) return;
      after = page[page.length - 1];
      const ids = page.map((event) => event.id);
      yield (eb) => eb('eventId', 'in', ids);
      if (page.length < CHUNK) return;
    }
  }

  async dropOrphans(destinationId: string, nowMs: number): Promise<number> {
    return this.inChunks(destinationId, 'dropOrphan', nowMs, (trx, ids) =>
      trx
        .updateTable('deliveries')
        .set({
          state: stateAfter('dropOrphan'),
          lastError: DESTINATION_REMOVED,
          nextAttemptAtMs: null,
          leaseUntilMs: null,
          leaseOwner: null,
          updatedAtMs: nowMs,
        })
        .where('id', 'in', ids)
        .where(waitingOrphan('dropOrphan', nowMs))
        .executeTakeFirst(),
    );
  }

  async reassignOrphans(fromDestinationId: string, toDestinationId: string, nowMs: number): Promise<Reassignment> {
    // An event already delivered (or waiting) to the new destination keeps that delivery: the unique
    // (event, destination) pair cannot hold two, and sending it twice would duplicate it downstream.
    const notThereYet: DeliveryFilter = (eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('deliveries as taken')
            .select('taken.id')
            .whereRef('taken.eventId', '=', 'deliveries.eventId')
            .where('taken.destinationId', '=', toDestinationId),
        ),
      );
    const reassigned = await this.inChunks(
      fromDestinationId,
      'reassignOrphan',
      nowMs,
      (trx, ids) =>
        trx
          .updateTable('deliveries')
          .set({
            destinationId: toDestinationId,
            state: stateAfter('reassignOrphan'),
            nextAttemptAtMs: this.leaseClock(nowMs),
            windowStartMs: nowMs,
            leaseUntilMs: null,
            leaseOwner: null,
            updatedAtMs: nowMs,
          })
          .where('id', 'in', ids)
          .where(waitingOrphan('reassignOrphan', nowMs))
          .where(notThereYet)
          .executeTakeFirst(),
      notThereYet,
    );
    const kept = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('destinationId', '=', fromDestinationId)
      .where(waitingOrphan('reassignOrphan', nowMs))
      .executeTakeFirstOrThrow();
    return { reassigned, kept: Number(kept.count) };
  }

  /**
   * Applies `change` to one destination's waiting deliveries CHUNK at a time (found on deliveries_due_idx),
   * each chunk its own transaction, yielding between them. A changed delivery leaves the selection, so
   * no cursor is needed.
   */
  private async inChunks(
    destinationId: string,
    transition: 'dropOrphan' | 'reassignOrphan',
    nowMs: number,
    change: (trx: Transaction<Database>, ids: readonly string[]) => Promise<{ numUpdatedRows: bigint }>,
    where?: DeliveryFilter,
  ): Promise<number> {
    let changed = 0;
    for (;;) {
      const ids = (await orphanPage(this.db, destinationId, transition, nowMs, where).execute()).map((row) => row.id);
      if (ids.length === 0) break;
      changed += Number((await this.write((trx) => change(trx, ids))).numUpdatedRows);
      await yieldToEventLoop();
      if (ids.length < CHUNK) break;
    }
    return changed;
  }

  async prune(cutoffs: RetentionCutoffs, onProgress?: (removed: number) => void, signal?: AbortSignal): Promise<PruneResult> {
    const { finalBeforeMs, deadBeforeMs } = cutoffs;
    const expiring = statesFrom('expire') as readonly DeliveryState[];
    let removed = 0;
    const pace = new BatchPace();
    // Old events still waiting stay in the way: a cursor walks past them rather than reading them again.
    for (let after: EventCursor | undefined; !signal?.aborted;) {
      const size = pace.begin();
      const page = await windowPage(this.db, { toMs: Math.max(finalBeforeMs, deadBeforeMs) }, after, size).execute();
      if (page.length === 0) break;
      after = page[page.length - 1];
      const outcome = await this.write(async (trx) => {
        if (!(await this.tryLockPruning(trx))) return 'busy' as const;
        const ids = page.map((event) => event.id);
        // The final ones locked (in id order), so a replay cannot make one pending before the delete; waiting
        // ones only read, so completing a delivery in flight never waits for retention (nor deadlocks with it).
        const final = await trx
          .selectFrom('deliveries')
          .select(['eventId', 'state'])
          .where('eventId', 'in', ids)
          .where(stateOfRow, 'in', expiring)
          .orderBy('id')
          .$if(this.rowLocks, (q) => q.forUpdate())
          .execute();
        const waiting = await trx
          .selectFrom('deliveries')
          .select('eventId')
          .where('eventId', 'in', ids)
          .where(stateOfRow, 'not in', expiring)
          .execute();
        const kept = new Set(waiting.map((row) => row.eventId));
        const withDead = new Set(final.filter((row) => row.state === 'dead').map((row) => row.eventId));
        const expired = page
          .filter((event) => !kept.has(event.id) && event.receivedAtMs < (withDead.has(event.id) ? deadBeforeMs : finalBeforeMs))
          .map((event) => event.id);
        const count = await this.removeEvents(trx, expired);
        if (count > 0) await this.reclaimSpace(trx);
        return count;
      });
      pace.end();
      if (outcome === 'busy') return { removed, busy: true };
      removed += outcome;
      onProgress?.(removed);
      await this.betweenBatches(outcome > 0);
      if (page.length < size) break;
    }
    return { removed, busy: false };
  }

  async erase(appUserId: string): Promise<number> {
    const key = userKey(appUserId);
    // Whose marks go: read before the events that tell it.
    const customer = await customerOf(this.db, appUserId);
    let erased = 0;
    const pace = new BatchPace();
    for (;;) {
      const size = pace.begin();
      const ids = (await this.db.selectFrom('eventUsers').select('eventId').where('userKey', '=', key).limit(size).execute()).map(
        (row) => row.eventId,
      );
      if (ids.length === 0) break;
      erased += await this.write(async (trx) => {
        const count = await this.removeEvents(trx, ids);
        await this.reclaimSpace(trx);
        return count;
      });
      pace.end();
      await this.betweenBatches(true);
    }
    await this.write((trx) => eraseMarks(trx, customer));
    await this.afterErase();
    return erased;
  }

  /**
   * The one way events leave the store (retention and erasure): with their attempts, deliveries and user
   * keys, whatever state the deliveries are in (callers choose the events). Answers how many were removed.
   */
  private async removeEvents(trx: Transaction<Database>, eventIds: readonly string[]): Promise<number> {
    let removed = 0;
    for (const ids of chunks(eventIds)) {
      await trx
        .deleteFrom('attempts')
        .where('deliveryId', 'in', (eb) => eb.selectFrom('deliveries').select('id').where('eventId', 'in', ids))
        .execute();
      await trx.deleteFrom('deliveries').where('eventId', 'in', ids).execute();
      await trx.deleteFrom('eventUsers').where('eventId', 'in', ids).execute();
      const result = await trx.deleteFrom('events').where('id', 'in', ids).executeTakeFirst();
      removed += Number(result.numDeletedRows);
    }
    return removed;
  }

  /**
   * Reads the counters the triggers keep (O(destinations × states) rows, however many deliveries are
   * stored) and each destination's oldest due delivery from the front of deliveries_due_idx.
   */
  async stats(nowMs: number): Promise<StoreStats> {
    await this.foldCountsNow();
    const deliveries = await this.db
      .selectFrom('deliveryCounts')
      .select(['destinationId', 'state', sql<number>`cast(sum(count) as bigint)`.as('count')])
      .groupBy(['destinationId', 'state'])
      .having(sql<number>`sum(count)`, '>', 0)
      .orderBy('destinationId')
      .orderBy('state')
      .execute();
    const destinationIds = [...new Set(deliveries.map((row) => row.destinationId))];
    const oldestPendingAgeMs = await Promise.all(
      destinationIds.map(async (destinationId) => {
        const oldest = await oldestDue(this.db, destinationId, nowMs).executeTakeFirst();
        // How long the oldest due delivery has been waiting for a dispatcher: the backlog's age.
        return { destinationId, ageMs: oldest?.nextAttemptAtMs == null ? 0 : nowMs - oldest.nextAttemptAtMs };
      }),
    );
    const events = await this.db
      .selectFrom('eventCounts')
      .select(sql<number>`cast(coalesce(sum(count), 0) as bigint)`.as('count'))
      .executeTakeFirstOrThrow();
    return {
      deliveries: deliveries.map((row) => ({ ...row, count: Number(row.count) })),
      oldestPendingAgeMs,
      events: Number(events.count),
    };
  }

  claimAlert(claim: AlertClaim): Promise<boolean> {
    return this.write((trx) => alertOutbox.claim(trx, claim, this.leaseClock(claim.nowMs)));
  }

  holdAlerts(hold: AlertHold): Promise<UnsentAlert[]> {
    return this.write((trx) => alertOutbox.hold(trx, hold, this.leaseClock(hold.nowMs)));
  }

  alertSent(key: string, target: number): Promise<void> {
    return this.write((trx) => alertOutbox.sent(trx, key, target));
  }

  releaseAlerts(owner: string): Promise<number> {
    return this.write((trx) => alertOutbox.release(trx, owner));
  }

  pruneAlertClaims(beforeMs: number, limit: number): Promise<number> {
    return this.write((trx) => alertOutbox.prune(trx, beforeMs, limit));
  }

  /**
   * Merges counter rows the database no longer adds to (see `foldCounts`). Runs at each `stats` and every
   * FOLD_EVERY writes, so the rows stay few even when nobody reads them; a failure only postpones it.
   */
  private async foldCountsNow(): Promise<void> {
    this.writesSinceFold = 0;
    this.folding ??= this.foldCounts()
      .catch((error: unknown) => this.logger.warn({ error: (error as Error).message }, 'could not fold delivery counters; will try again'))
      .finally(() => (this.folding = undefined));
    await this.folding;
  }

  /** Between two batches of a background deletion: the event loop runs (webhooks, health checks), then the store's own step. */
  private async betweenBatches(wrote: boolean): Promise<void> {
    await yieldToEventLoop();
    await this.afterBatch(wrote);
  }

  /** Lets the event loop read the webhooks that have arrived, then waits for their group commit. */
  protected async giveWayToIngest(): Promise<void> {
    await yieldToEventLoop();
    await this.ingests.flushed();
  }

  /**
   * Reachable, and able to commit: while ingest commits fail (a full disk), a small write shows whether one
   * would succeed now, so readiness follows what a webhook would get.
   */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
    await this.commitHealth.check((probe) => this.write(probe));
  }

  /**
   * Every write runs in a transaction, single statements too: on SQLite that means BEGIN IMMEDIATE,
   * which waits for another connection's write lock without blocking the event loop.
   */
  protected async write<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    const result = await this.db.transaction().execute(work);
    if (++this.writesSinceFold >= FOLD_EVERY && !this.closed) void this.foldCountsNow();
    return result;
  }

  private reachable(): Promise<boolean> {
    return this.ping().then(
      () => true,
      () => false,
    );
  }

  /** Waits for ingests already submitted to commit, then closes the connections. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ingests.close();
    await this.folding;
    await this.db.destroy();
  }
}

type ReplayWindow = Pick<ReplaySelector, 'fromMs' | 'toMs'>;
type EventCursor = { readonly receivedAtMs: number; readonly id: string };
type Queryable = Kysely<Database> | Transaction<Database>;

/** Lets timers and I/O (webhooks, health checks) run: better-sqlite3 is synchronous, so awaiting it never does. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Replay's batches for id lists: CHUNK ids per statement at most. */
async function* idBatches(deliveryIds?: readonly string[], eventIds?: readonly string[]): AsyncGenerator<DeliveryFilter> {
  for (const someDeliveryIds of deliveryIds ? chunks(deliveryIds) : [undefined]) {
    for (const someEventIds of eventIds ? chunks(eventIds) : [undefined]) {
      yield (eb) =>
        eb.and([
          ...(someDeliveryIds ? [eb('id', 'in', someDeliveryIds)] : []),
          ...(someEventIds ? [eb('eventId', 'in', someEventIds)] : []),
        ]);
    }
  }
}

/** The next `limit` events received in the window after `after`, in index order (events_received_idx, no sort). */
export function windowPage(db: Queryable, window: ReplayWindow, after?: EventCursor, limit = CHUNK) {
  return db
    .selectFrom('events')
    .select(['receivedAtMs', 'id'])
    .$if(window.fromMs !== undefined, (q) => q.where('receivedAtMs', '>=', window.fromMs!))
    .$if(window.toMs !== undefined, (q) => q.where('receivedAtMs', '<', window.toMs!))
    .$if(after !== undefined, (q) =>
      q.where(({ eb, refTuple, tuple }) => eb(refTuple('receivedAtMs', 'id'), '>', tuple(after!.receivedAtMs, after!.id))),
    )
    .orderBy('receivedAtMs')
    .orderBy('id')
    .limit(limit);
}

/**
 * One replay batch: the batch's deliveries (by id on the primary key, or by event on the unique
 * (event, destination) index) in a replayable state. `window` filters id batches by their event's receipt.
 * They fall due at `dueAtMs`: now on the lease clock.
 */
export function replayUpdate(
  db: Queryable,
  replay: { batch: DeliveryFilter; states: readonly string[]; destinationId?: string; window?: ReplayWindow },
  nowMs: number,
  dueAtMs: number | RawBuilder<number> = nowMs,
) {
  const { batch, states, destinationId, window } = replay;
  return db
    .updateTable('deliveries')
    .set({
      state: stateAfter('replay'),
      nextAttemptAtMs: dueAtMs,
      windowStartMs: nowMs,
      leaseUntilMs: null,
      leaseOwner: null,
      deliveredAtMs: null,
      updatedAtMs: nowMs,
    })
    .where(batch)
    .where(stateOfRow, 'in', states as DeliveriesTable['state'][])
    .$if(destinationId !== undefined, (q) => q.where('destinationId', '=', destinationId!))
    .$if(window !== undefined && (window.fromMs !== undefined || window.toMs !== undefined), (q) =>
      q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('events')
            .select('events.id')
            .whereRef('events.id', '=', 'deliveries.eventId')
            .$if(window!.fromMs !== undefined, (e) => e.where('events.receivedAtMs', '>=', window!.fromMs!))
            .$if(window!.toMs !== undefined, (e) => e.where('events.receivedAtMs', '<', window!.toMs!)),
        ),
      ),
    );
}

/** A destination's oldest due pending delivery: the first entry of its range on deliveries_due_idx, however long the backlog. */
export function oldestDue(db: Queryable, destinationId: string, nowMs: number) {
  return db
    .selectFrom('deliveries')
    .select('nextAttemptAtMs')
    .where('destinationId', '=', destinationId)
    .where('state', '=', 'pending')
    .where('nextAttemptAtMs', '<=', nowMs)
    .orderBy('nextAttemptAtMs')
    .limit(1);
}

/** These of `owner`'s deliveries still in flight under its lease. */
function leasedBy(owner: string, ids: readonly string[]): DeliveryFilter {
  return (eb) => eb.and([eb('id', 'in', ids), eb(stateOfRow, 'in', statesFrom('takeOver')), eb('leaseOwner', '=', owner)]);
}

/** Waiting deliveries an orphan operation may change: the transition's states, in-flight ones only once their lease expired. */
function waitingOrphan(transition: 'dropOrphan' | 'reassignOrphan', nowMs: number): DeliveryFilter {
  const settled = statesFrom(transition).filter((state) => state !== 'in_flight');
  return (eb) =>
    eb.or([
      eb('state', 'in', settled),
      ...(allows(transition, 'in_flight') ? [eb.and([eb('state', '=', 'in_flight'), eb('leaseUntilMs', '<', nowMs)])] : []),
    ]);
}

/** The next CHUNK waiting deliveries of a destination no longer configured, on deliveries_due_idx. */
export function orphanPage(
  db: Queryable,
  destinationId: string,
  transition: 'dropOrphan' | 'reassignOrphan',
  nowMs: number,
  where?: DeliveryFilter,
) {
  return db
    .selectFrom('deliveries')
    .select('id')
    .where('destinationId', '=', destinationId)
    .where(waitingOrphan(transition, nowMs))
    .$if(where !== undefined, (q) => q.where(where!))
    .limit(CHUNK);
}

/**
 * A destination's pending deliveries to paused, or paused back to pending, due at `dueAtMs` (now on the lease
 * clock); answers how many moved.
 */
async function movePaused(
  trx: Transaction<Database>,
  destinationId: string,
  paused: boolean,
  nowMs: number,
  dueAtMs: number | RawBuilder<number>,
): Promise<number> {
  const transition = paused ? 'pause' : 'resume';
  const result = await trx
    .updateTable('deliveries')
    .set({ state: stateAfter(transition), nextAttemptAtMs: paused ? undefined : dueAtMs, updatedAtMs: nowMs })
    .where('destinationId', '=', destinationId)
    .where('state', 'in', statesFrom(transition))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export function eventValues(event: IngestEvent) {
  const { id, source, type, kind, userId, environment, timestampMs, body } = event;
  return { id, source, type, kind, userId, environment, timestampMs, body };
}

export function newDeliveryValues(eventId: string, delivery: NewDelivery, nowMs: number): DeliveriesTable {
  return {
    id: timeOrderedId(nowMs),
    eventId,
    destinationId: delivery.destinationId,
    state: delivery.state,
    attempts: 0,
    // Skipped is final; paused ones fall due when their destination resumes.
    nextAttemptAtMs: delivery.state === 'skipped' ? null : nowMs,
    leaseUntilMs: null,
    leaseOwner: null,
    windowStartMs: nowMs,
    interruptions: 0,
    lastStatus: null,
    lastError: delivery.reason ?? null,
    deliveredAtMs: null,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
  };
}

/**
 * A UUID version 7: the time first, so new deliveries are added at the end of the primary key's index (a few
 * pages written per commit) rather than on random pages all over it.
 */
function timeOrderedId(nowMs: number): string {
  const time = nowMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

/** The event_users rows of an event: one per user id it can be erased by. */
export function eventUserValues(event: IngestEvent) {
  return erasureIdsOf(event).map((id) => ({ userKey: userKey(id), eventId: event.id }));
}

/** Whether any mark of the per-user guard (before migration 10) is left. */
async function hasRows(trx: Transaction<Database>): Promise<boolean> {
  return (await trx.selectFrom('subscriptionStateMarks').select('destinationId').limit(1).execute()).length > 0;
}

function pageSize(limit: number | undefined): number {
  const wanted = limit !== undefined && Number.isFinite(limit) ? Math.floor(limit) : DEFAULT_LIMIT;
  return Math.min(Math.max(wanted, 1), MAX_LIMIT);
}

function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) result.push(items.slice(i, i + CHUNK));
  return result;
}
