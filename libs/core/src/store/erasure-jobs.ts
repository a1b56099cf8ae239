import { subjectIds, type ErasureSubject } from '../account-requests';

/**
 * Erasure jobs (SPEC §15): a customer's erasure at one destination, kept until the destination has deleted
 * them, with retries, restarts and dead letters like deliveries. What the admin API's erase and listing and the
 * runner's erasure worker use; of several runners on one database, one works a job at a time (a lease).
 */

export const ERASURE_JOB_STATES = ['pending', 'done', 'dead'] as const;
export type ErasureJobState = (typeof ERASURE_JOB_STATES)[number];

/** A stored event naming a customer, as read before the customer's local rows go (to gather their subject). */
export interface CustomerEvent {
  readonly id: string;
  /** The source it came through: its plugin decodes the body. */
  readonly source: string;
  readonly body: string;
}

/** A job to add: one destination's share of one erasure. */
export interface NewErasureJob {
  readonly id: string;
  readonly destinationId: string;
  readonly subject: ErasureSubject;
  /** How many requests the destination's plugin built for the subject when it was added (the listing's total). */
  readonly steps: number;
}

export interface ErasureJob {
  readonly id: string;
  readonly destinationId: string;
  readonly state: ErasureJobState;
  /** Every identity to delete; null once the job is done (the store forgets them). */
  readonly subject: ErasureSubject | null;
  /** How many app user ids and identities the subject holds (kept when the subject goes). */
  readonly identityCount: number;
  /** Requests answered with anything but done (each retry, and the final failure). */
  readonly attempts: number;
  /** Index of the next request to send: requests go one at a time, and a retry resumes at the one that failed. */
  readonly nextStep: number;
  /** How many requests the subject takes, as last built. */
  readonly steps: number;
  /** When a pending job is due (on the lease clock); null once final. */
  readonly nextAttemptAtMs: number | null;
  /** The destination's last answer, secrets and identities already out; null while none came. */
  readonly lastAnswer: string | null;
  /** When its retry window began (added, or made pending again by an operator): dead only after the retry limits. */
  readonly windowStartMs: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** A worker taking due jobs: it holds them for `leaseMs`, and each step it records renews that. */
export interface ErasureJobTake {
  readonly owner: string;
  /** Only jobs of these destinations (the worker's configured ones): a job of one no longer configured waits. */
  readonly destinationIds: readonly string[];
  readonly nowMs: number;
  readonly leaseMs: number;
  readonly limit: number;
}

/**
 * What one request of a job came to, recorded by the worker holding it: a step done (`nextStep` on, the job
 * done once it reaches `steps`), a retry after `retryInMs`, or dead.
 */
export type ErasureJobProgress =
  | { readonly type: 'step'; readonly nextStep: number; readonly steps: number; readonly lastAnswer: string | null }
  | { readonly type: 'retry'; readonly retryInMs: number; readonly lastAnswer: string; readonly steps: number }
  | { readonly type: 'dead'; readonly lastAnswer: string; readonly steps: number };

export interface ErasureJobFilter {
  readonly state?: ErasureJobState;
  readonly destinationId?: string;
  readonly limit?: number;
  /** Keyset pagination: jobs newest first, strictly before this job id. */
  readonly before?: string;
}

export interface ErasureJobs {
  /**
   * Up to `limit` stored events naming `appUserId` in any of their user ids (as `Maintenance.erase` finds them),
   * after the event id `after`, in event id order. A read, before the erase.
   */
  customerEvents(appUserId: string, after: string | undefined, limit: number): Promise<CustomerEvent[]>;
  /** Adds the jobs, pending and due at once, with a fresh retry window. */
  addErasureJobs(jobs: readonly NewErasureJob[], nowMs: number): Promise<void>;
  /**
   * Renews the leases `owner` holds and takes due pending jobs no live lease holds (a crashed runner's once its
   * lease ran out), oldest due first; answers up to `limit` jobs it now holds, in that order. Atomic across
   * stores on one database: of several runners one holds a job at a time. Postgres judges by its clock.
   */
  takeErasureJobs(take: ErasureJobTake): Promise<ErasureJob[]>;
  /**
   * Records what one request came to, if `owner` still holds the job (answers false otherwise: another took it
   * over, or it is gone). A step renews the lease for the next; a retry or dead lets go of the job. Done drops the
   * subject in the same write.
   */
  recordErasureStep(id: string, owner: string, progress: ErasureJobProgress, nowMs: number, leaseMs: number): Promise<boolean>;
  /** Lets go of the jobs `owner` holds (a stop), for the next start or another runner. Answers how many. */
  releaseErasureJobs(owner: string): Promise<number>;
  /** Jobs newest first (by creation, then id), filtered; at most `pageSize(limit)`. */
  listErasureJobs(filter: ErasureJobFilter): Promise<ErasureJob[]>;
  getErasureJob(id: string): Promise<ErasureJob | undefined>;
  /** A dead job pending again, due now with a fresh retry window and attempts from 0; answers it, or undefined when not dead. */
  retryErasureJob(id: string, nowMs: number): Promise<ErasureJob | undefined>;
}

/** How many ids a subject holds: its app user ids and its identities' values, each once. */
export function identityCountOf(subject: ErasureSubject): number {
  return subjectIds(subject).length;
}
