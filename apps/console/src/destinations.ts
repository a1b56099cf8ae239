import { admin } from './api.js';
import { age, badge, h, json, time } from './dom.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import type { CheckDestinationResponse, DestinationView, ListDestinationsResponse } from './admin-api.js';

const WHY: Record<NonNullable<DestinationView['pausedBy']>, string> = {
  operator: 'paused by an operator',
  credentials: 'paused: the destination refused the credentials',
  configuration: 'paused: configuration incomplete',
};

/** A connection check as the page shows it: asked and not yet answered, or the runner's verdict. */
type CheckShown = { readonly checking: true } | (CheckDestinationResponse & { readonly checking?: false });

/** The verdict in a word or two, with its badge's look: accepted, refused, no such request, or no telling. */
function verdictOf(check: CheckDestinationResponse): { label: string; look: string } {
  if (check.ok === true) return { label: 'ok', look: 'check-ok' };
  if (check.ok === false) return { label: 'refused', look: 'check-refused' };
  if (check.reason === 'not supported') return { label: 'not supported', look: 'check-unsupported' };
  return { label: 'could not tell', look: 'check-unknown' };
}

function checkResult(check: CheckShown | undefined): HTMLElement | null {
  if (!check) return null;
  if (check.checking) return h('p', { class: 'check', role: 'status' }, 'Checking the connection…');
  const { label, look } = verdictOf(check);
  // The common readings already start with the status; a plugin's own may not.
  const status = check.status === null || check.reason.includes(`HTTP ${check.status}`) ? '' : ` (HTTP ${check.status})`;
  return h(
    'p',
    { class: 'check', role: 'status' },
    'Connection: ',
    h('span', { class: `badge ${look}` }, label),
    check.reason === 'not supported' ? ' — this plugin has no request that checks credentials' : ` — ${check.reason}${status}`,
  );
}

export function destinationsPage(main: HTMLElement, shell: Shell): Page {
  const list = h('div');
  main.append(list);
  // Kept across refreshes, which redraw the list: a verdict stays shown until checked again.
  const checks = new Map<string, CheckShown>();
  let shown: readonly DestinationView[] = [];

  const toggle = (view: DestinationView) =>
    shell.act(async () => {
      const action = view.state === 'paused' ? 'resume' : 'pause';
      await admin('POST', `/destinations/${encodeURIComponent(view.id)}/${action}`);
      shell.notify(`${view.id} ${action === 'pause' ? 'paused' : 'resumed'}.`);
      await page.refresh();
    });

  const check = (view: DestinationView) =>
    shell.act(async () => {
      checks.set(view.id, { checking: true });
      render();
      try {
        checks.set(view.id, await admin<CheckDestinationResponse>('GET', `/destinations/${encodeURIComponent(view.id)}/check`));
      } catch (error) {
        checks.delete(view.id);
        throw error;
      } finally {
        render();
      }
    });

  const render = () =>
    renderIfChanged(list, { destinations: shown, checks: Object.fromEntries(checks) }, ({ destinations }) =>
      destinations.map((view) =>
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
          h(
            'div',
            { class: 'actions' },
            h('button', { type: 'button', onclick: () => toggle(view) }, view.state === 'paused' ? 'Resume' : 'Pause'),
            h('button', { type: 'button', onclick: () => check(view), disabled: checks.get(view.id)?.checking }, 'Check connection'),
          ),
          checkResult(checks.get(view.id)),
          h('details', { open: true }, h('summary', {}, 'Settings (secrets redacted)'), h('pre', { tabindex: 0 }, json(view.settings))),
        ),
      ),
    );

  const page: Page = {
    title: 'Destinations',
    async refresh() {
      shown = (await admin<ListDestinationsResponse>('GET', '/destinations')).destinations;
      render();
    },
  };
  return page;
}
