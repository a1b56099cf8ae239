import { admin } from './api.js';
import { age, badge, h, json, time } from './dom.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import type { DestinationView, ListDestinationsResponse } from './admin-api.js';

const WHY: Record<NonNullable<DestinationView['pausedBy']>, string> = {
  operator: 'paused by an operator',
  credentials: 'paused: the destination refused the credentials',
  configuration: 'paused: configuration incomplete',
};

export function destinationsPage(main: HTMLElement, shell: Shell): Page {
  const list = h('div');
  main.append(list);

  const toggle = (view: DestinationView) =>
    shell.act(async () => {
      const action = view.state === 'paused' ? 'resume' : 'pause';
      await admin('POST', `/destinations/${encodeURIComponent(view.id)}/${action}`);
      shell.notify(`${view.id} ${action === 'pause' ? 'paused' : 'resumed'}.`);
      await page.refresh();
    });

  const page: Page = {
    title: 'Destinations',
    async refresh() {
      const { destinations } = await admin<ListDestinationsResponse>('GET', '/destinations');
      renderIfChanged(list, destinations, (views) =>
        views.map((view) =>
          h(
            'section',
            { class: 'destination', 'aria-label': view.id },
            h('h2', {}, view.id, ' ', h('small', {}, view.plugin), ' ', badge(view.state)),
            view.state === 'paused'
              ? h(
                  'p',
                  {},
                  view.pausedBy ? WHY[view.pausedBy] : 'paused',
                  view.reason ? ` — ${view.reason}` : '',
                  view.since ? ` (since ${time(view.since)})` : '',
                )
              : null,
            h(
              'p',
              {},
              `${view.deliveries.pending} pending, ${view.deliveries.in_flight} in flight, ${view.deliveries.paused} paused, `,
              `${view.deliveries.dead} dead · oldest pending ${age(view.oldestPendingAgeMs)} · ${view.inFlightRequests} requests in flight`,
            ),
            h('button', { type: 'button', onclick: () => toggle(view) }, view.state === 'paused' ? 'Resume' : 'Pause'),
            h('details', { open: true }, h('summary', {}, 'Settings (secrets redacted)'), h('pre', { tabindex: 0 }, json(view.settings))),
          ),
        ),
      );
    },
  };
  return page;
}
