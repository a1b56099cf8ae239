import { ingestEventOf, type IngestEvent } from '@ferry/core';
import { parseRevenueCatWebhookText } from '@ferry/revenuecat';
import { fixture, webhookBody } from '@ferry/testkit';

/** The Authorization value the bench's runners expect: the check's cost is part of every ingest figure. */
export const BENCH_AUTHORIZATION = 'Bearer bench-webhook-secret-0c9f3a';
export const BENCH_ACCOUNT_ID = 'BENCH-ACC-001';
export const BENCH_PASSCODE = 'bench-passcode-7d1e5b';
export const DESTINATION_ID = 'clevertap-main';
/** The subscriber attribute that carries the event id into the CleverTap record, so records map back to events. */
export const ID_ATTRIBUTE = 'bench_id';

const PLACEHOLDER = '__BENCH_EVENT_ID__';

/**
 * A RENEWAL webhook (the testkit fixture, about 1.4 kB) as a function of its event id; the id also rides in a
 * subscriber attribute. Built by concatenation, so the load generator spends little time per request.
 * `userId` replaces the fixture's user (app user id, original id and aliases): whom an erasure names.
 */
export function webhookText(userId?: string): (id: string) => string {
  const template = webhookBody('renewal', {
    id: PLACEHOLDER,
    ...(userId === undefined ? {} : { app_user_id: userId, original_app_user_id: userId, aliases: [userId] }),
    subscriber_attributes: {
      ...(fixture('renewal').webhook.event.subscriber_attributes as object),
      [ID_ATTRIBUTE]: { value: PLACEHOLDER, updated_at_ms: 1_740_820_000_000 },
    },
  });
  const parts = template.split(PLACEHOLDER);
  return (id) => parts.join(id);
}

/** The same webhook as the store's ingest takes it, for filling a store directly. */
export function ingestEvent(userId?: string): (id: string) => IngestEvent {
  const text = webhookText(userId);
  const parsed = parseRevenueCatWebhookText(text('template'));
  if (!parsed.ok)
    throw new Error(`the bench webhook does not parse: ${parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return (id) => ingestEventOf({ ...parsed.value, id }, text(id));
}
