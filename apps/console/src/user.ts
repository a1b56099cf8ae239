import { admin, ApiError } from './api.js';
import { badge, counted, h, table, time } from './dom.js';
import { customerSearch } from './events.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import { eventHref, href, userHref } from './paths.js';
import { actionButton, ANY_REPLAYABLE, isReplayable, notReplayableWhy, replay, replayedNotice } from './replay.js';
import type { ShowUserResponse } from './admin-api.js';

type UserEvent = ShowUserResponse['events'][number];
type UserDelivery = UserEvent['deliveries'][number];
type UserDestination = ShowUserResponse['destinations'][number];

/**
 * A customer (`/console/users/<app user id>`): every event naming them (as user, original id, alias or
 * transfer party) in event time order, each with its deliveries and the subscription state Ferry derived after
 * it, and per destination the state its ordering rule last let through. Without an id, the search alone.
 */
export function userPage(main: HTMLElement, userId: string, shell: Shell): Page {
  const body = h('div');
  main.append(customerSearch(shell, userId), body);
  const page: Page = {
    title: userId ? `Customer ${userId}` : 'Customers',
    async refresh() {
      if (!userId)
        return renderIfChanged(body, null, () => [h('p', {}, 'Type an app user id to see the customer, or its start to list the users.')]);
      let view: ShowUserResponse | undefined;
      try {
        view = await admin<ShowUserResponse>('GET', `/users/${encodeURIComponent(userId)}`);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
      renderIfChanged(body, view ?? null, (found) =>
        found
          ? render(found, replayOf)
          : [
              h(
                'p',
                {},
                `No event names ${userId}. `,
                h('a', { href: href('events', '', { userPrefix: userId }) }, `Events of users starting with ${userId}`),
              ),
            ],
      );
    },
  };

  const replayOf = (event: UserEvent, delivery: UserDelivery) =>
    actionButton(
      'Replay',
      `Replay delivery of ${event.id} to ${delivery.destinationId}`,
      async () => {
        const replayed = await replay({ deliveryIds: [delivery.id], states: ANY_REPLAYABLE }, shell);
        shell.notify(replayedNotice(replayed, ` of ${event.id} to ${delivery.destinationId}`));
        await page.refresh();
      },
      shell,
    );
  return page;
}

type ReplayButton = (event: UserEvent, delivery: UserDelivery) => HTMLButtonElement;

function render(view: ShowUserResponse, replayOf: ReplayButton): HTMLElement[] {
  const latest = view.events[view.events.length - 1];
  return [
    h(
      'p',
      {},
      `${counted(view.events.length, 'event names', 'events name')} ${view.userId}`,
      view.truncated ? ' (the newest shown; older ones are left out)' : '',
      '. State now: ',
      latest?.stateAfter ? badge(latest.stateAfter) : 'none derived',
      '.',
    ),
    h('h2', {}, 'State last sent, per destination'),
    ...view.destinations.map(sentTo),
    h('h2', {}, 'Events, oldest first'),
    h('ol', { class: 'timeline' }, ...view.events.map((event) => h('li', {}, eventEntry(view.userId, event, replayOf)))),
  ];
}

/** What the ordering rule let through to each of the customer's profiles at one destination. */
function sentTo(destination: UserDestination): HTMLElement {
  const { destinationId, plugin, sendsState, sent } = destination;
  return h(
    'section',
    { class: 'destination', 'aria-label': `State sent to ${destinationId}` },
    h('h3', {}, destinationId, ' ', h('small', {}, plugin)),
    !sendsState
      ? h('p', {}, 'Does not send state.')
      : sent.length === 0
        ? h('p', {}, 'No state sent yet.')
        : table(
            ['Profile', 'State last sent', 'Event', 'Event time', 'A state in flight'],
            sent.map((mark) => [
              mark.profile,
              mark.state ? badge(mark.state) : '—',
              mark.eventId ? h('a', { href: eventHref(mark.eventId) }, mark.eventId) : '—',
              time(mark.timestampMs),
              // In flight: what the destination holds may change when its answer comes.
              mark.claimInFlight ? 'yes' : 'no',
            ]),
          ),
  );
}

function eventEntry(customer: string, event: UserEvent, replayOf: ReplayButton): HTMLElement {
  return h(
    'section',
    { class: event.changesState ? 'user-event changes-state' : 'user-event', 'aria-label': `Event ${event.id}` },
    h('h3', {}, time(event.timestampMs), ' · ', event.kind?.replaceAll('_', ' ') ?? event.type),
    h(
      'p',
      {},
      h('a', { href: eventHref(event.id) }, event.id),
      ` · ${event.type}`,
      event.productId ? ` · ${event.productId}` : '',
      ` · ${event.environment}`,
      // An alias or a transfer names the customer in an event of another user id.
      event.userId && event.userId !== customer ? h('span', {}, ' · user ', h('a', { href: userHref(event.userId) }, event.userId)) : '',
    ),
    h(
      'p',
      { class: 'state-after' },
      'State after: ',
      event.stateAfter ? badge(event.stateAfter) : 'none',
      event.changesState ? h('strong', {}, ' changed by this event') : ' (unchanged)',
    ),
    event.deliveries.length === 0
      ? h('p', { class: 'hint' }, 'No destination takes it.')
      : h('ul', { class: 'user-deliveries' }, ...event.deliveries.map((delivery) => h('li', {}, deliveryLine(event, delivery, replayOf)))),
  );
}

function deliveryLine(event: UserEvent, d: UserDelivery, replayOf: ReplayButton): HTMLElement {
  return h(
    'span',
    { class: 'delivery-line' },
    `${d.destinationId} `,
    badge(d.state),
    ` ${counted(d.attempts, 'attempt', 'attempts')}`,
    d.lastStatus !== null ? ` · last status ${d.lastStatus}` : '',
    d.lastError ? ` · last error: ${d.lastError}` : '',
    ' ',
    isReplayable(d.state) ? replayOf(event, d) : h('span', { class: 'hint' }, notReplayableWhy(d.state)),
  );
}
