/// <reference types="jest" />
import type { AttemptRecord, DeliveryQueue, IngestEvent, LeaseRequest, NewDelivery } from '@ferry/core';

/** What the contract's cases (and the stores' own tests) build their data from. */

export const T0 = 1_700_000_000_000;
export const LEASE_MS = 60_000;

/** Ingests events `prefix-0` … `prefix-(n-1)`, received one millisecond apart from `T0`, and expects each stored. */
export async function ingestMany(
  store: { readonly queue: Pick<DeliveryQueue, 'ingest'> },
  n: number,
  prefix = 'e',
  deliveries: readonly NewDelivery[] = [pending()],
): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => store.queue.ingest(testEvent(`${prefix}-${i}`), deliveries, T0 + i)),
  );
  expect(results.every((r) => r === 'stored')).toBe(true);
}

export function testEvent(id: string, overrides: Partial<IngestEvent> = {}): IngestEvent {
  return {
    id,
    source: 'revenuecat',
    type: 'INITIAL_PURCHASE',
    kind: 'initial_purchase',
    userId: 'user-1',
    productId: 'com.example.pro.monthly',
    environment: 'PRODUCTION',
    timestampMs: T0 - 1_000,
    body: JSON.stringify({ api_version: '1.0', event: { id } }),
    ...overrides,
  };
}

export const pending = (destinationId = 'ct'): NewDelivery => ({ destinationId, state: 'pending' });

export function leaseRequest(overrides: Partial<LeaseRequest> = {}): LeaseRequest {
  return { destinationId: 'ct', limit: 100, nowMs: T0, leaseMs: LEASE_MS, owner: 'runner-a', ...overrides };
}

export const attempt = (
  status: number | null,
  error: string | null = null,
  outcome: 'delivered' | 'retry' | 'rejected' | 'auth_failed' = 'retry',
): AttemptRecord => ({
  startedAtMs: T0,
  durationMs: 12,
  status,
  outcome,
  error,
});
