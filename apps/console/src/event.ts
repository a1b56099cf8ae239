import { admin, ApiError } from './api.js';
import { badge, h, json, prettyBody, table, time } from './dom.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import { userHref } from './paths.js';
import { actionButton, ANY_REPLAYABLE, isReplayable, notReplayableWhy, replay, replayedNotice } from './replay.js';
import type { DeliveryRequest, EventDelivery, EventView } from './admin-api.js';

export function eventPage(main: HTMLElement, id: string, shell: Shell): Page {
  const body = h('div');
  main.append(body);
  const page: Page = {
    title: `Event ${id}`,
    async refresh() {
      let event: EventView | undefined;
      try {
        event = await admin<EventView>('GET', `/events/${encodeURIComponent(id)}`);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
      renderIfChanged(body, event ?? null, (found) => (found ? render(found, replayOf) : [h('p', {}, `No event with id ${id}.`)]));
    },
  };

  /** Replays the event's deliveries (all of them, or one), delivered ones too: the operator asked for it. */
  const replayOf = (delivery?: EventDelivery) =>
    actionButton(
      delivery ? `Replay delivery to ${delivery.destinationId}` : 'Replay all deliveries',
      undefined,
      async () => {
        const replayed = await replay(
          delivery ? { deliveryIds: [delivery.id], states: ANY_REPLAYABLE } : { eventIds: [id], states: ANY_REPLAYABLE },
          shell,
        );
        shell.notify(replayedNotice(replayed, delivery ? ` to ${delivery.destinationId}` : ` of event ${id}`));
        await page.refresh();
      },
      shell,
    );
  return page;
}

type ReplayButton = (delivery?: EventDelivery) => HTMLButtonElement;

function render(event: EventView, replayOf: ReplayButton): HTMLElement[] {
  const replayable = event.deliveries.filter((d) => isReplayable(d.state)).length;
  const replayAll = replayOf();
  replayAll.disabled = replayable === 0;
  return [
    h(
      'dl',
      { class: 'facts' },
      ...fact('Type', event.type),
      ...fact('Kind', event.kind ?? 'none (not delivered as a subscription event)'),
      ...fact('User', event.userId ? h('a', { href: userHref(event.userId) }, event.userId) : '—'),
      ...fact('Environment', event.environment),
      ...fact('Event time', time(event.timestampMs)),
      ...fact('Received', time(event.receivedAtMs)),
    ),
    h('h2', {}, 'Deliveries'),
    ...(event.deliveries.length === 0
      ? [h('p', {}, 'No destination takes this event.')]
      : [
          h(
            'div',
            { class: 'actions' },
            replayAll,
            h(
              'span',
              { class: 'hint' },
              replayable === 0
                ? 'Nothing to replay: every delivery is still on its way.'
                : 'Sends each dead, skipped or delivered one again; a delivered one arrives twice.',
            ),
          ),
          ...event.deliveries.map((d) => delivery(d, replayOf)),
        ]),
    h('details', {}, h('summary', {}, 'Webhook as received'), h('pre', { tabindex: 0 }, json(event.webhook))),
  ];
}

const fact = (term: string, value: string | HTMLElement) => [h('dt', {}, term), h('dd', {}, value)];

function delivery(d: EventDelivery, replayOf: ReplayButton): HTMLElement {
  const replayOne = replayOf(d);
  replayOne.disabled = !isReplayable(d.state);
  return h(
    'section',
    { class: 'delivery', 'aria-label': `Delivery to ${d.destinationId}` },
    h('h3', {}, d.destinationId, ' ', badge(d.state)),
    h(
      'p',
      {},
      `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`,
      d.deliveredAtMs ? ` · delivered ${time(d.deliveredAtMs)}` : '',
      d.state === 'pending' && d.nextAttemptAtMs ? ` · next attempt ${time(d.nextAttemptAtMs)}` : '',
      d.lastError ? ` · last error: ${d.lastError}` : '',
    ),
    h('div', { class: 'actions' }, replayOne, isReplayable(d.state) ? null : h('span', { class: 'hint' }, notReplayableWhy(d.state))),
    d.attemptLog.length === 0
      ? h('p', {}, 'No attempt yet.')
      : table(
          ['#', 'Started', 'Status', 'Outcome', 'Error', 'Duration'],
          d.attemptLog.map((attempt) => [
            attempt.number,
            time(attempt.startedAtMs),
            attempt.status ?? 'no answer',
            attempt.outcome,
            attempt.error ?? '—',
            `${attempt.durationMs} ms`,
          ]),
          `Attempts to ${d.destinationId}`,
        ),
    ...d.requests.map((request, index) =>
      requestView(request, `Request sent${d.requests.length > 1 ? ` (${index + 1})` : ''}, rebuilt from the stored event`),
    ),
    d.requests.length > 0
      ? h('p', { class: 'hint' }, 'Secrets are redacted. The request that carried it may also have batched other events.')
      : null,
  );
}

export function requestView(request: DeliveryRequest, title: string): HTMLElement {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
  return h(
    'figure',
    { class: 'request' },
    h('figcaption', {}, title),
    h('pre', { tabindex: 0 }, `${request.method} ${request.url}\n${headers}\n\n${prettyBody(request.body)}`),
  );
}
