import { z } from 'zod';
import {
  MAX_ID_LENGTH,
  SUBSCRIPTION_STATUSES,
  sendsState,
  stateProfileOf,
  subscriptionStatus,
  systemClock,
  type DeliveryRow,
  type HistoryEvent,
  type SubscriptionEvent,
  type SubscriptionStatus,
} from '@ferry/core';
import type { DestinationInstance } from '@ferry/engine';
import { storedEventDecoder } from '../sources';
import { portOf, type AdminDeps } from './deps';
import { NotFoundError } from './errors';
import { deliveriesByEvent } from './events';
import { deliveryRow, eventRow } from './records';
import { routeFor, type Answer } from './route';

/**
 * The customer view (SPEC §17): a customer's events in time order, each with its deliveries and the subscription
 * state Ferry derives after it, and per destination the state its ordering guard let through to each profile.
 */

/** The most events the view shows: the customer's newest. */
export const USER_EVENTS_SHOWN = 500;

export const subscriptionStatusSchema = z
  .enum(SUBSCRIPTION_STATUSES)
  .meta({ id: 'SubscriptionStatus', description: "A subscription state, in RevenueCat's `rc_subscription_status` vocabulary." });

const userDelivery = deliveryRow
  .pick({
    id: true,
    destinationId: true,
    state: true,
    attempts: true,
    lastStatus: true,
    lastError: true,
    deliveredAtMs: true,
    updatedAtMs: true,
  })
  .meta({ id: 'UserDelivery', description: "One of the event's deliveries." });

const userEvent = eventRow
  .extend({
    stateAfter: subscriptionStatusSchema
      .nullable()
      .describe("The customer's subscription state after this event, in event time order: its own, else the one before (null before any)."),
    changesState: z.boolean().describe('Whether this event sets the state (it has one of its own); false leaves the one before.'),
    deliveries: z.array(userDelivery).describe('By destination id.'),
  })
  .meta({ id: 'UserEvent', description: "One of the customer's events." });

const sentState = z
  .object({
    profile: z.string().describe('Where the state is written at the destination: the account (environment) and the identity there.'),
    state: subscriptionStatusSchema
      .nullable()
      .describe('The state the destination accepted last; null when none, or its event is not shown.'),
    eventId: z.string().nullable().describe('The event that carried it, when it is one of the events shown.'),
    timestampMs: z.number().nullable().describe("That event's time; null while the destination accepted no state for the profile."),
    claimInFlight: z.boolean().describe('A request carrying state for the profile is in flight: what the destination holds may change.'),
  })
  .meta({ id: 'SentState', description: 'What the ordering guard let through to one profile at a destination (SPEC §12).' });

export const userView = z
  .object({
    userId: z.string(),
    truncated: z.boolean().describe(`True when the customer has more events than the ${USER_EVENTS_SHOWN} newest shown.`),
    events: z.array(userEvent).describe('Oldest first, by event time, then the order received.'),
    destinations: z.array(
      z
        .object({
          destinationId: z.string(),
          plugin: z.string(),
          sendsState: z.boolean().describe('Whether it sends the subscription state; one that does not lists nothing as sent.'),
          sent: z.array(sentState).describe("Per profile the customer's events reach there."),
        })
        .meta({ id: 'UserDestination' }),
    ),
  })
  .meta({ id: 'UserView', description: "A customer's events, the state derived after each, and what each destination holds." });

export type UserView = Answer<typeof userView>;

/** A stored event read back: the event its source parses, when it still does (its source configured). */
interface ReadEvent {
  readonly stored: HistoryEvent;
  readonly event: SubscriptionEvent | undefined;
  readonly status: SubscriptionStatus | undefined;
}

export class UserAdmin {
  constructor(private readonly deps: AdminDeps) {}

  async show(userId: string): Promise<UserView> {
    const log = portOf(this.deps, 'log');
    const history = await log.userHistory(userId, USER_EVENTS_SHOWN);
    if (history.events.length === 0) throw new NotFoundError(`no event names the user ${JSON.stringify(userId)}`);
    const read = this.readEvents(history.events);
    const deliveries = await deliveriesByEvent(
      log,
      history.events.map((event) => event.id),
    );

    let state: SubscriptionStatus | null = null;
    const events = read.map(({ stored, status }) => {
      const { body: _body, receivedSeq: _seq, ...row } = stored;
      state = status ?? state;
      return {
        ...row,
        stateAfter: state,
        changesState: status !== undefined,
        deliveries: (deliveries.get(row.id) ?? []).map(
          ({ id, destinationId, state: deliveryState, attempts, lastStatus, lastError, deliveredAtMs, updatedAtMs }) => ({
            id,
            destinationId,
            state: deliveryState,
            attempts,
            lastStatus,
            lastError,
            deliveredAtMs,
            updatedAtMs,
          }),
        ),
      };
    });
    const destinations = [];
    for (const destination of this.deps.destinations) destinations.push(await this.sentTo(destination, read, deliveries));
    return { userId, truncated: history.truncated, events, destinations };
  }

  /** Each stored event parsed by the source it came through; one that no longer parses shows no state of its own. */
  private readEvents(stored: readonly HistoryEvent[]): ReadEvent[] {
    const decode = storedEventDecoder(this.deps.sources ?? []);
    return stored.map((row) => {
      try {
        const event = decode(row.body, row.source);
        return { stored: row, event, status: subscriptionStatus(event) };
      } catch {
        return { stored: row, event: undefined, status: undefined };
      }
    });
  }

  /**
   * What a destination holds of the customer's state: per profile its events that set a state and went there reach
   * (`stateProfileOf`, as the dispatcher orders them), the mark of the state it accepted, matched to the event
   * that carried it by its place in the order (event time, then the order received).
   */
  private async sentTo(
    destination: DestinationInstance,
    read: readonly ReadEvent[],
    deliveries: ReadonlyMap<string, readonly DeliveryRow[]>,
  ) {
    const { id: destinationId, plugin, settings } = destination;
    const sends = sendsState(plugin, settings);
    const base = { destinationId, plugin: plugin.id, sendsState: sends };
    if (!sends) return { ...base, sent: [] };
    const profiles = new Map<string, string>();
    for (const { stored, event, status } of read) {
      if (event === undefined || status === undefined) continue;
      if (!(deliveries.get(stored.id) ?? []).some((delivery) => delivery.destinationId === destinationId)) continue;
      let profile: string | undefined;
      try {
        profile = stateProfileOf(plugin, settings, event);
      } catch {
        continue; // the plugin cannot tell the identity: the dispatcher sends no state for it either
      }
      if (profile !== undefined && !profiles.has(profile)) profiles.set(profile, profileLabel(profile));
    }
    const marks = await portOf(this.deps, 'marks').acceptedStates(
      destinationId,
      [...profiles.keys()],
      (this.deps.clock ?? systemClock).now(),
    );
    const sent = marks.map(({ profile, accepted, claimInFlight }) => {
      const carrier =
        accepted === null
          ? undefined
          : read.find(({ stored }) => stored.timestampMs === accepted.timestampMs && stored.receivedSeq === accepted.receivedSeq);
      return {
        profile: profiles.get(profile)!,
        state: carrier?.status ?? null,
        eventId: carrier?.stored.id ?? null,
        timestampMs: accepted?.timestampMs ?? null,
        claimInFlight,
      };
    });
    return { ...base, sent: sent.sort((a, b) => (a.profile < b.profile ? -1 : a.profile > b.profile ? 1 : 0)) };
  }
}

/**
 * A profile as operators read it: `production: identity=alice`, or without the account when the destination
 * keeps one for both environments. Identities are the plugin's (user ids, never settings), so no secret is in it.
 */
export function profileLabel(profile: string): string {
  const [account, identity] = JSON.parse(profile) as [string, [string, string][]];
  const who = identity.map(([field, value]) => `${field}=${value}`).join(', ');
  return account === 'ALL' ? who : `${account.toLowerCase()}: ${who}`;
}

const route = routeFor<UserAdmin>();

export const showUser = route({
  id: 'showUser',
  method: 'GET',
  path: '/users/:id',
  summary: 'A customer: its events in time order with their deliveries and the state derived after each, and what each destination holds',
  description:
    `Every event naming the id (app user id, original app user id, alias or transfer party), the ${USER_EVENTS_SHOWN} newest at most. ` +
    'Per destination that sends the subscription state: per profile, the state its ordering guard let through (SPEC §12).',
  params: z.object({
    id: z.string().min(1).max(MAX_ID_LENGTH).describe('The app user id (or an original id, alias or transfer party).'),
  }),
  response: userView,
  refusals: { 404: 'No stored event names this id.' },
  handle: (users, { params }) => users.show(params.id),
});

export const USER_ROUTES = [showUser];
