import {
  retriesExhausted,
  retryDelayMs,
  stateAfter,
  type Completion,
  type DeliveryUpdate,
  type LeasedDelivery,
  type Outcome,
  type RetryPolicy,
} from '@ferry/core';

/** One try at a delivery: the request's timing and status (null when none came back), and the outcome. */
export interface AttemptResult {
  readonly outcome: Outcome;
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly status: number | null;
}

export interface UpdateContext {
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly nowMs: number;
  /** Makes an error text safe to store: secrets out, length bounded. */
  readonly errorText: (text: string) => string;
}

/**
 * The store update for a delivery after an attempt: delivered; retry → pending after backoff (or
 * Retry-After) until both retry limits are reached, then dead; rejected → dead; auth_failed → paused.
 */
export function updateAfterAttempt(delivery: LeasedDelivery, result: AttemptResult, context: UpdateContext): DeliveryUpdate {
  const { outcome } = result;
  const status = outcome.status ?? result.status;
  const error = isFailure(outcome) ? context.errorText(describeFailure(outcome)) : null;
  // A delivered outcome's note (a profile update the destination refused beside the event) stays with the attempt.
  const attemptError = outcome.type === 'delivered' && outcome.note ? context.errorText(outcome.note) : error;
  const attempt = { startedAtMs: result.startedAtMs, durationMs: result.durationMs, status, outcome: outcome.type, error: attemptError };
  const update = { deliveryId: delivery.id, attempt, lastStatus: status, lastError: error, state: stateAfter(COMPLETION_OF[outcome.type]) };
  // Built once, in full, for the outcomes that are not retries: one update is made for every delivery sent.
  if (outcome.type !== 'retry') return update;
  const attempts = delivery.attempts + 1;
  if (retriesExhausted(context.policy, attempts, delivery.windowStartMs, context.nowMs)) return { ...update, state: stateAfter('kill') };
  const delayMs = retryDelayMs(context.policy, attempts, context.random, outcome.retryAfterMs);
  return { ...update, nextAttemptAtMs: context.nowMs + delayMs };
}

/** The transition each outcome makes; a retry becomes `kill` once both retry limits are reached. */
const COMPLETION_OF = {
  delivered: 'deliver',
  rejected: 'kill',
  auth_failed: 'authPause',
  retry: 'retry',
} as const satisfies Record<Outcome['type'], Completion>;

export type Failure = Exclude<Outcome, { type: 'delivered' }>;

export function isFailure(outcome: Outcome): outcome is Failure {
  return outcome.type !== 'delivered';
}

export function describeFailure(outcome: Failure): string {
  return outcome.type === 'rejected' ? `${outcome.code}: ${outcome.reason}` : outcome.reason;
}
