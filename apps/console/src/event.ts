import { admin, ApiError } from './api.js';
import { badge, h, json, prettyBody, table, time } from './dom.js';
import { renderIfChanged, type Page } from './page.js';
import type { DeliveryRequest, EventDelivery, EventView } from './admin-api.js';

export function eventPage(main: HTMLElement, id: string): Page {
  const body = h('div');
  main.append(body);
  return {
    title: `Event ${id}`,
    async refresh() {
      let event: EventView | undefined;
      try {
        event = await admin<EventView>('GET', `/events/${encodeURIComponent(id)}`);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
      renderIfChanged(body, event ?? null, (found) => (found ? render(found) : [h('p', {}, `No event with id ${id}.`)]));
    },
  };
}

function render(event: EventView): HTMLElement[] {
  return [
    h(
      'dl',
      { class: 'facts' },
      ...fact('Type', event.type),
      ...fact('Kind', event.kind ?? 'none (not delivered as a subscription event)'),
      ...fact('User', event.userId ?? '—'),
      ...fact('Environment', event.environment),
      ...fact('Event time', time(event.timestampMs)),
      ...fact('Received', time(event.receivedAtMs)),
    ),
    h('h2', {}, 'Deliveries'),
    ...(event.deliveries.length === 0 ? [h('p', {}, 'No destination takes this event.')] : event.deliveries.map(delivery)),
    h('details', {}, h('summary', {}, 'Webhook as received'), h('pre', { tabindex: 0 }, json(event.webhook))),
  ];
}

const fact = (term: string, value: string) => [h('dt', {}, term), h('dd', {}, value)];

function delivery(d: EventDelivery): HTMLElement {
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
