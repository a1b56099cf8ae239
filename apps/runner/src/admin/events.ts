import { z } from 'zod';
import { systemClock, type DeliveryRequest, type DeliveryRow, type EventLog } from '@ferry/core';
import { findSource, portOf, type AdminDeps } from './deps';
import { NotFoundError, queryStore } from './errors';
import { listFilter, listQuery, nextCursor, pageOf, type ListQuery } from './listing';
import { rebuiltRequests } from './preview';
import { attempt, deliveryRequest, deliveryRow, eventRow } from './records';
import { routeFor, type Answer } from './route';
import { deliveryState, idParam } from './schema';

/** Events: the listing, and one event with its deliveries, attempts and the requests they carry. */

export const eventView = eventRow
  .extend({
    webhook: z.unknown().describe('The webhook body as received.'),
    deliveries: z.array(
      deliveryRow
        .extend({
          attemptLog: z.array(attempt),
          requests: z
            .array(deliveryRequest)
            .describe(
              "The requests the destination's plugin builds for this event alone, secrets redacted: attempts keep no request " +
                'bodies, and plugins are deterministic, so this is what was sent for it (a batch may have carried other events ' +
                'beside it). Empty when the destination skips the event or is no longer configured.',
            ),
        })
        .meta({ id: 'EventDelivery', description: 'A delivery of the event, with every attempt.' }),
    ),
  })
  .meta({ id: 'EventView', description: 'One event with every delivery and every attempt.' });

export type EventView = Answer<typeof eventView>;

export const eventListRow = eventRow
  .extend({
    deliveries: z
      .array(
        z
          .object({ destinationId: z.string(), state: deliveryState })
          .meta({ id: 'DeliveryStateOf', description: "One of an event's deliveries: its destination and state." }),
      )
      .describe("Each of the event's deliveries, by destination id."),
  })
  .meta({ id: 'EventListRow', description: 'A stored event, as the listing shows it: with the state of each delivery.' });

export type EventListRow = Answer<typeof eventListRow>;

/** The deliveries of these events by event id (each event's by destination id): one read, not one per event. */
export async function deliveriesByEvent(log: EventLog, eventIds: readonly string[]): Promise<Map<string, DeliveryRow[]>> {
  const byEvent = new Map<string, DeliveryRow[]>();
  for (const delivery of await log.deliveriesOf(eventIds)) {
    const ofEvent = byEvent.get(delivery.eventId);
    if (ofEvent) ofEvent.push(delivery);
    else byEvent.set(delivery.eventId, [delivery]);
  }
  return byEvent;
}

export class EventAdmin {
  constructor(private readonly deps: AdminDeps) {}

  async list(query: ListQuery): Promise<{ items: readonly EventListRow[]; next?: string }> {
    const filter = listFilter(query);
    const log = portOf(this.deps, 'log');
    const { items, next } = pageOf(await queryStore(() => log.listEvents(filter)), filter.limit);
    const deliveries = await deliveriesByEvent(
      log,
      items.map((event) => event.id),
    );
    const states = (id: string) => (deliveries.get(id) ?? []).map(({ destinationId, state }) => ({ destinationId, state }));
    return { items: items.map((event) => ({ ...event, deliveries: states(event.id) })), next };
  }

  async show(id: string): Promise<EventView> {
    const detail = await portOf(this.deps, 'log').getEvent(id);
    if (!detail) throw new NotFoundError(`no event with id ${JSON.stringify(id)}`);
    const { body, deliveries, ...rest } = detail;
    const webhook = parseStoredBody(body);
    // Parsed by the source it came through; one no longer configured rebuilds nothing.
    const source = findSource(this.deps, rest.source);
    const context = { nowMs: (this.deps.clock ?? systemClock).now(), webhookBody: body };
    const rebuilt = source
      ? rebuiltRequests(webhook, source, this.deps.destinations, context)
      : new Map<string, readonly DeliveryRequest[]>();
    return {
      ...rest,
      webhook,
      deliveries: deliveries.map((delivery) => ({
        ...delivery,
        requests: (rebuilt.get(delivery.destinationId) ?? []).map((request) => ({ ...request, deliveryIds: [delivery.id] })),
      })),
    };
  }
}

function parseStoredBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

const route = routeFor<EventAdmin>();

export const listEvents = route({
  id: 'listEvents',
  method: 'GET',
  path: '/events',
  summary: 'Events, newest first, filtered; a delivery filter (state, destination) matches any of their deliveries',
  query: listQuery,
  response: z.object({ events: z.array(eventListRow), next: nextCursor }),
  handle: async (events, { query }) => {
    const { items, next } = await events.list(query);
    return { events: items, next };
  },
});

export const showEvent = route({
  id: 'showEvent',
  method: 'GET',
  path: '/events/:id',
  summary: 'One event: its webhook, and every delivery with every attempt and the requests it carries',
  params: z.object({ id: idParam }),
  response: eventView,
  refusals: { 404: 'No event has this id.' },
  handle: (events, { params }) => events.show(params.id),
});

export const EVENT_ROUTES = [listEvents, showEvent];
