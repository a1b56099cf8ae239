import { retriesExhausted, retryDelayMs, type DeliveryUpdate, type LeasedDelivery, type Outcome, type RetryPolicy } from '@ferry/core';

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
  const update = {
    deliveryId: delivery.id,
    attempt: { startedAtMs: result.startedAtMs, durationMs: result.durationMs, status, outcome: outcome.type, error },
    lastStatus: status,
    lastError: error,
  };
  switch (outcome.type) {
    case 'delivered':
      return { ...update, state: 'delivered' };
    case 'rejected':
      return { ...update, state: 'dead' };
    case 'auth_failed':
      return { ...update, state: 'paused' };
    case 'retry': {
      const attempts = delivery.attempts + 1;
      if (retriesExhausted(context.policy, attempts, delivery.windowStartMs, context.nowMs)) return { ...update, state: 'dead' };
      const delayMs = retryDelayMs(context.policy, attempts, context.random, outcome.retryAfterMs);
      return { ...update, state: 'pending', nextAttemptAtMs: context.nowMs + delayMs };
    }
  }
}

export type Failure = Exclude<Outcome, { type: 'delivered' }>;

export function isFailure(outcome: Outcome): outcome is Failure {
  return outcome.type !== 'delivered';
}

export function describeFailure(outcome: Failure): string {
  return outcome.type === 'rejected' ? `${outcome.code}: ${outcome.reason}` : outcome.reason;
}
