import type { ActivityRow, AttemptRow, DeliveryRow, DestinationPause, ErasureJob, EventRow, StateOrder } from '@ferry/core';
import { MemoryAlerts } from './alerts';

/** A delivery as the in-memory store keeps it: the row, its retry window, lease holder and attempt log. */
export interface MemoryDelivery extends DeliveryRow {
  readonly windowStartMs: number;
  readonly leaseOwner: string | null;
  /** Attempts in a row its runner stopped during (lease taken over or released after a crash). */
  readonly interruptions: number;
  readonly attemptLog: readonly AttemptRow[];
}

/** An erasure job as the in-memory store keeps it: the row and its lease holder. */
export interface MemoryErasureJob extends ErasureJob {
  readonly owner: string | null;
  readonly leaseUntilMs: number | null;
}

/** Per destination and profile (SPEC §12): the newest state the destination accepted, and the claim in flight. */
export interface ProfileMark {
  readonly accepted?: StateOrder;
  readonly claim?: StateOrder & { readonly deliveryId: string };
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
  /** Erasure jobs by id (the SQL stores' erasure_jobs). */
  readonly erasureJobs = new Map<string, MemoryErasureJob>();
  /** `minuteMs \0 series` → its row (the SQL stores' activity_minutes). */
  readonly activity = new Map<string, ActivityRow>();
  nextId = 1;
  /** Settles when the write transactions begun so far have ended; none while idle (see `transaction`). */
  private writing: Promise<unknown> | undefined;

  /** Every delivery (of one destination), in the order they were stored. */
  rows(destinationId?: string): MemoryDelivery[] {
    return [...this.deliveries.values()].filter((row) => destinationId === undefined || row.destinationId === destinationId);
  }

  put(row: MemoryDelivery): void {
    this.deliveries.set(row.id, row);
  }

  /**
   * Runs `work` when no other write transaction runs, as a database's write lock would: the steps of a
   * lease, awaited one by one, see no other store's write between them.
   */
  transaction<T>(work: () => T | Promise<T>): Promise<T> {
    // While idle, at once (a synchronous one ends before the caller goes on); otherwise after those begun before.
    const result = this.writing ? this.writing.then(work) : new Promise<T>((resolve) => resolve(work()));
    const ended = result.then(
      () => undefined,
      () => undefined,
    );
    this.writing = ended;
    void ended.then(() => {
      if (this.writing === ended) this.writing = undefined;
    });
    return result;
  }
}

/** One store's hold on the database: the ports check it is still open. */
export interface MemoryConnection {
  readonly database: MemoryDatabase;
  /** Throws once the store is closed. */
  open(): void;
}
