import { admin } from './api.js';
import { count, counted, field, h, localTimeMs, replace, select, table, time } from './dom.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import { showIdOptions } from './events.js';
import { renderPager } from './paging.js';
import { eventHref, queryOf } from './paths.js';
import { countReplay, replay, replayedNotice } from './replay.js';
import {
  REPLAYABLE_STATES,
  type ListDeliveriesResponse,
  type ListDestinationsResponse,
  type ReplayableState,
  type StartReplayBody,
} from './admin-api.js';

const PAGE_SIZE = 200;

/**
 * Dead deliveries, newest first, a page at a time past any count (`before` and `limit` in the address); select
 * some and Replay, or replay by filter: counted first, replayed only on the operator's confirm.
 */
export function deadPage(main: HTMLElement, query: URLSearchParams, shell: Shell): Page {
  const selected = new Set<string>();
  let shownIds: string[] = [];
  const list = h('div', { class: 'results' });
  const pager = h('div', { class: 'pager' });
  const replaySelected = h(
    'button',
    {
      type: 'button',
      onclick: () =>
        shell.act(async () => {
          const replayed = await replay({ deliveryIds: [...selected] }, shell);
          selected.clear();
          shell.notify(replayedNotice(replayed));
          await page.refresh(true);
        }),
    },
    'Replay',
  );
  const selectAll = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        const all = shownIds.every((id) => selected.has(id));
        for (const id of shownIds) {
          if (all) selected.delete(id);
          else selected.add(id);
        }
        void page.refresh(true);
      },
    },
    'Select all',
  );

  const from = h('input', { name: 'from', type: 'datetime-local', required: true });
  const to = h('input', { name: 'to', type: 'datetime-local', required: true });
  const destination = select('destination', [['', 'Every destination']]);
  const state = select(
    'state',
    REPLAYABLE_STATES.map((s) => [s, s] as const),
    'dead',
  );
  /** The count and its confirm: shown for the filter as counted, gone as soon as the filter changes. */
  const confirmation = h('div', { class: 'actions', 'aria-live': 'polite' });
  const filterForm = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Replay by filter',
      oninput: () => replace(confirmation),
      onchange: () => replace(confirmation),
      onsubmit: (event: Event) => {
        event.preventDefault();
        void shell.act(async () => {
          const request: StartReplayBody = {
            from: localTimeMs(from.value),
            to: localTimeMs(to.value),
            destination: destination.value || undefined,
            states: [state.value as ReplayableState],
          };
          offerReplay(request, await countReplay(request));
        });
      },
    },
    field('Destination', destination),
    field('State', state),
    field('Received from', from),
    field('Received before', to),
    h('button', { type: 'submit' }, 'Count deliveries'),
  );

  /** Shows how many the filter replays, and a button that replays exactly that filter. */
  function offerReplay(request: StartReplayBody, matching: number): void {
    if (matching === 0) return replace(confirmation, h('p', {}, 'Nothing to replay: no delivery matches.'));
    const confirmButton = h(
      'button',
      {
        type: 'button',
        onclick: () =>
          shell.act(async () => {
            replace(confirmation);
            const replayed = await replay(request, shell);
            shell.notify(replayedNotice(replayed));
            await page.refresh(true);
          }),
      },
      `Replay ${counted(matching, 'delivery', 'deliveries')}`,
    );
    replace(
      confirmation,
      h('p', {}, `This replays ${counted(matching, 'delivery', 'deliveries')}.`),
      confirmButton,
      h('button', { type: 'button', onclick: () => replace(confirmation) }, 'Cancel'),
    );
    confirmButton.focus();
  }

  main.append(
    h('p', {}, 'Deliveries that will not be retried by themselves. Replay makes them pending again with a fresh retry window.'),
    h('div', { class: 'actions' }, replaySelected, selectAll),
    list,
    pager,
    h('h2', {}, 'Replay by filter'),
    h(
      'p',
      { class: 'hint' },
      'Every delivery in the state, of events received in the window: counted first, replayed when you confirm. A delivered one is sent again.',
    ),
    filterForm,
    confirmation,
  );

  const page = {
    title: 'Dead letters',
    async refresh(force = false) {
      const params = queryOf({ state: 'dead', limit: query.get('limit') ?? PAGE_SIZE, before: query.get('before') ?? undefined });
      const [answer, destinations] = await Promise.all([
        admin<ListDeliveriesResponse>('GET', `/deliveries?${params}`),
        admin<ListDestinationsResponse>('GET', '/destinations').then((listed) => listed.destinations.map((d) => d.id)),
      ]);
      const { deliveries } = answer;
      shownIds = deliveries.map((d) => d.id);
      for (const id of [...selected]) if (!shownIds.includes(id)) selected.delete(id);
      replaySelected.disabled = selected.size === 0;
      selectAll.disabled = deliveries.length === 0;
      showIdOptions(destination, destinations, 'Every destination');
      const olderPage = query.has('before');
      renderIfChanged(list, { deliveries, selected: force ? [...selected] : null }, ({ deliveries: rows }) => [
        rows.length === 0
          ? h('p', {}, olderPage ? 'No older dead deliveries.' : 'No dead deliveries.')
          : table(
              ['Select', 'Event', 'Destination', 'Attempts', 'Last status', 'Last error', 'Since'],
              rows.map((d) => [
                h('input', {
                  type: 'checkbox',
                  'aria-label': `Select delivery of ${d.eventId} to ${d.destinationId}`,
                  checked: selected.has(d.id),
                  onchange: (event: Event) => {
                    if ((event.target as HTMLInputElement).checked) selected.add(d.id);
                    else selected.delete(d.id);
                    replaySelected.disabled = selected.size === 0;
                  },
                }),
                h('a', { href: eventHref(d.eventId) }, d.eventId),
                d.destinationId,
                d.attempts,
                d.lastStatus ?? '—',
                d.lastError ?? '—',
                time(d.updatedAtMs),
              ]),
              `Dead deliveries, newest first: ${count(rows.length)} ${olderPage ? 'on an older page' : 'on the newest page'}`,
            ),
      ]);
      renderPager(pager, 'dead', query, answer.next, shell);
    },
  };
  return page;
}
