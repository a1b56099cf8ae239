import { z } from 'zod';
import { systemClock, type DeliveryRequest } from '@ferry/core';
import { findSource, portOf, type AdminDeps } from './deps';
import { NotFoundError, queryStore } from './errors';
import { listFilter, listQuery, nextCursor, pageOf, type ListQuery } from './listing';
import { rebuiltRequests } from './preview';
import { attempt, deliveryRequest, deliveryRow, eventRow } from './records';
import { routeFor, type Answer } from './route';
import { idParam } from './schema';

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

export class EventAdmin {
  constructor(private readonly deps: AdminDeps) {}

  async list(query: ListQuery) {
    const filter = listFilter(query);
    return pageOf(await queryStore(() => portOf(this.deps, 'log').listEvents(filter)), filter.limit);
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
  response: z.object({ events: z.array(eventRow), next: nextCursor }),
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
