import { admin } from './api.js';
import { field, h, localTimeMs, select, table, time } from './dom.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import {
  DELIVERY_STATES,
  type EraseUserBody,
  type EraseUserResponse,
  type ListEventsResponse,
  type ListSourcesResponse,
} from './admin-api.js';

const PAGE_SIZE = 50;
/** Characters the text filters show, so every filter and the button fit one line of a laptop screen. */
const FILTER_SIZE = 14;

export const eventHref = (id: string) => `#/events/${encodeURIComponent(id)}`;
/** The events of one source: what the overview's sources and the events' source column link to. */
export const sourceEventsHref = (sourceId: string) => `#/events?source=${encodeURIComponent(sourceId)}`;

/**
 * The configured sources as options, and the one chosen (from the address, say) even when no configured
 * source has that id any more: its stored events are still listed.
 */
export function sourceOptions(configured: readonly string[], chosen: string): [value: string, label: string][] {
  const ids = chosen === '' || configured.includes(chosen) ? configured : [...configured, chosen];
  return [['', 'Any'], ...ids.map((id) => [id, id] as [string, string])];
}

/**
 * Newest first, one page at a time through the API's `before` cursor, so a store of any size costs one
 * small query per refresh. `query` comes from the address (`#/events?user=…`), so filters can be linked.
 */
export function eventsPage(main: HTMLElement, query: URLSearchParams, shell: Shell): Page {
  const filters = {
    state: query.get('state') ?? '',
    user: query.get('user') ?? '',
    type: query.get('type') ?? '',
    source: query.get('source') ?? '',
  };
  const source = select('source', sourceOptions([], filters.source), filters.source);
  const state = select('state', [['', 'Any'], ...DELIVERY_STATES.map((s) => [s, s.replace('_', ' ')] as const)], filters.state);
  const user = h('input', { name: 'user', value: filters.user, autocomplete: 'off', size: FILTER_SIZE });
  const type = h('input', { name: 'type', value: filters.type, placeholder: 'e.g. RENEWAL', autocomplete: 'off', size: FILTER_SIZE });
  const destination = h('input', { name: 'destination', value: query.get('destination') ?? '', autocomplete: 'off', size: FILTER_SIZE });
  const since = h('input', { name: 'since', type: 'datetime-local' });
  const until = h('input', { name: 'until', type: 'datetime-local' });
  const findId = h('input', { name: 'id', autocomplete: 'off', required: true });
  const results = h('div', { class: 'results' });
  const pager = h('div', { class: 'pager' });
  const erasure = h('div', { class: 'actions' });
  const atDestinations = h('input', { type: 'checkbox', name: 'destinations' });

  /** A privacy request for the user the list is filtered by: everything naming them goes, for good. */
  const erase = (userId: string) =>
    shell.act(async () => {
      const question = `Erase every event naming user ${JSON.stringify(userId)} (as user id, original id, alias or transfer), with its deliveries and attempts? Pending deliveries of them will not be sent. This cannot be undone.`;
      if (!confirm(question)) return;
      const destinations = atDestinations.checked;
      const { erased, remote } = await admin<EraseUserResponse>('POST', '/erase', {
        appUserId: userId,
        ...(destinations && { destinations }),
      } satisfies EraseUserBody);
      const queued = (remote ?? []).filter((entry) => entry.state === 'pending').length;
      shell.notify(
        `Erased ${erased} ${erased === 1 ? 'event' : 'events'} of ${userId}.` +
          (destinations ? ` ${queued} destination ${queued === 1 ? 'erasure' : 'erasures'} queued: see Erasures.` : ''),
      );
      await page.refresh();
    });

  /** `before` cursors of the pages behind the current one; the current page's own is the last. */
  const cursors: (string | undefined)[] = [undefined];
  let next: string | undefined;

  const filterForm = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Filter events',
      onsubmit: (event: Event) => {
        event.preventDefault();
        cursors.splice(0, cursors.length, undefined);
        void page.refresh();
      },
    },
    field('Source', source),
    field('Delivery state', state),
    field('Destination', destination),
    field('User id', user),
    field('Type', type),
    field('Received from', since),
    field('Received before', until),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const findForm = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Find an event',
      onsubmit: (event: Event) => {
        event.preventDefault();
        location.hash = eventHref(findId.value.trim());
      },
    },
    field('Event id', findId),
    h('button', { type: 'submit' }, 'Find event'),
  );
  main.append(findForm, filterForm, erasure, results, pager);

  const move = (cursor: 'older' | 'newer') => {
    if (cursor === 'older') cursors.push(next);
    else if (cursors.length > 1) cursors.pop();
    void page.refresh();
  };

  const page: Page = {
    title: 'Events',
    async refresh() {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      const add = (name: string, value: string | number | undefined) =>
        value !== undefined && value !== '' && params.set(name, String(value));
      add('source', source.value);
      add('state', state.value);
      add('destination', destination.value.trim());
      add('user', user.value.trim());
      add('type', type.value.trim());
      add('since', localTimeMs(since.value));
      add('until', localTimeMs(until.value));
      add('before', cursors[cursors.length - 1]);
      const [answer, sources] = await Promise.all([
        admin<ListEventsResponse>('GET', `/events?${params}`),
        admin<ListSourcesResponse>('GET', '/sources').then((listed) => listed.sources.map((s) => s.id)),
      ]);
      renderIfChanged(source, sourceOptions(sources, source.value), (options) => {
        const chosen = source.value;
        return options.map(([value, label]) => h('option', { value, selected: value === chosen }, label));
      });
      renderIfChanged(erasure, user.value.trim(), (userId) =>
        userId === ''
          ? []
          : [
              h('button', { type: 'button', class: 'danger', onclick: () => erase(userId) }, `Erase user ${userId}`),
              field('At the destinations too', atDestinations),
            ],
      );
      next = answer.next;
      renderIfChanged(results, answer.events, (events) => [
        events.length === 0
          ? h('p', {}, 'No events match.')
          : table(
              ['Received', 'Event', 'Source', 'Type', 'Kind', 'User', 'Environment'],
              events.map((event) => [
                time(event.receivedAtMs),
                h('a', { href: eventHref(event.id) }, event.id),
                h('a', { href: sourceEventsHref(event.source) }, event.source),
                event.type,
                event.kind ?? '—',
                event.userId ? h('a', { href: `#/events?user=${encodeURIComponent(event.userId)}` }, event.userId) : '—',
                event.environment,
              ]),
              `Events, newest first, page ${cursors.length}`,
            ),
      ]);
      renderIfChanged(pager, { newer: cursors.length > 1, older: next !== undefined }, (can) => [
        can.newer ? h('button', { type: 'button', onclick: () => move('newer') }, 'Newer') : null,
        can.older ? h('button', { type: 'button', onclick: () => move('older') }, 'Older') : null,
      ]);
    },
  };
  return page;
}
