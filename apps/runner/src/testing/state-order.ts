import { fixture, type fixtures } from '@ferry/testkit';
import type { TestRunner } from './harness';

type FixtureName = (typeof fixtures)[number]['name'];

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
  const base = fixture(name).webhook;
  return JSON.stringify({
    ...base,
    event: {
      ...base.event,
      id,
      app_user_id: user,
      original_app_user_id: originalAppUserId ?? user,
      aliases: [user, ...(aliases ?? [])],
      event_timestamp_ms: timestampMs,
      ...(environment && { environment }),
      subscriber_attributes: cleverTapId === undefined ? {} : { $clevertapId: { value: cleverTapId, updated_at_ms: 1 } },
    },
  });
}

/** Every delivery of the store in a final state (delivered, skipped, dead): nothing waits or is in flight. */
export async function settled(runner: TestRunner): Promise<boolean> {
  const stats = await runner.runner.store.log.stats(Date.now());
  return stats.deliveries.every((row) => !['pending', 'in_flight', 'paused'].includes(row.state) || row.count === 0);
}

/** Posts a webhook and expects it stored. */
export async function post(runner: TestRunner, body: string): Promise<void> {
  const answer = await runner.postWebhook(body);
  if (answer.status !== 200) throw new Error(`webhook answered ${answer.status}: ${answer.text}`);
}
