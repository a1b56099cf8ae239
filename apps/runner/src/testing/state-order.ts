import { webhookBody, type FixtureName } from '@ferry/testkit';
import type { TestRunner } from './harness';

/** The order tests' time: every event's timestamp is this plus a few seconds. */
export const T0 = 1_750_000_000_000;

export interface StateWebhook {
  readonly id: string;
  readonly user: string;
  readonly timestampMs: number;
  /** `$clevertapId`, when the profile is keyed by it; by default the profile is the app user id's. */
  readonly cleverTapId?: string;
  readonly environment?: 'PRODUCTION' | 'SANDBOX';
  /** Other ids the event names: aliases, and its original app user id (the first), when given. */
  readonly aliases?: readonly string[];
  readonly originalAppUserId?: string;
}

/**
 * A catalogue webhook about `user` alone (its aliases and original id are the user unless given), with no
 * subscriber attribute but `$clevertapId` when asked: CleverTap's profile is then exactly what the test says.
 */
export function stateWebhook(name: FixtureName, webhook: StateWebhook): string {
  const { id, user, timestampMs, cleverTapId, environment, aliases, originalAppUserId } = webhook;
  return webhookBody(name, {
    id,
    app_user_id: user,
    original_app_user_id: originalAppUserId ?? user,
    aliases: [user, ...(aliases ?? [])],
    event_timestamp_ms: timestampMs,
    ...(environment && { environment }),
    subscriber_attributes: cleverTapId === undefined ? {} : { $clevertapId: { value: cleverTapId, updated_at_ms: 1 } },
  });
}

/** Posts a webhook and expects it stored. */
export async function post(runner: TestRunner, body: string): Promise<void> {
  const answer = await runner.postWebhook(body);
  if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}: ${answer.text}`);
}
