import { admin } from './api.js';
import { badge, field, h, localTimeMs, localTimeValue, select, table, time } from './dom.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import { renderPager } from './paging.js';
import { eventHref, href, queryOf, sourceEventsHref, userHref } from './paths.js';
import {
  DELIVERY_STATES,
  EVENT_KINDS,
  type DeliveryStateOf,
  type EraseUserBody,
  type EraseUserResponse,
  type ListDestinationsResponse,
  type ListEventsQuery,
  type ListEventsResponse,
  type ListSourcesResponse,
} from './admin-api.js';

const PAGE_SIZE = 50;
/** Characters the text filters show, so the filters fit two lines of a laptop screen. */
const FILTER_SIZE = 14;

/**
 * The configured ids as options (sources, destinations), and the one chosen (from the address, say) even when
 * nothing configured has that id any more: its stored events are still listed.
 */
export function idOptions(configured: readonly string[], chosen: string, anyLabel = 'Any'): [value: string, label: string][] {
  const ids = chosen === '' || configured.includes(chosen) ? configured : [...configured, chosen];
  return [['', anyLabel], ...ids.map((id) => [id, id] as [string, string])];
}

/** Fills a select with `idOptions`, keeping its choice; redrawn only when the options change, so a refresh keeps focus. */
export function showIdOptions(control: HTMLSelectElement, configured: readonly string[], anyLabel = 'Any'): void {
  renderIfChanged(control, idOptions(configured, control.value, anyLabel), (options) => {
    const chosen = control.value;
    return options.map(([value, label]) => h('option', { value, selected: value === chosen }, label));
  });
}

/** The listing's filters as the address carries them: the admin API's own query names and values. */
type EventFilters = Pick<
  ListEventsQuery,
  'source' | 'state' | 'destination' | 'user' | 'userPrefix' | 'product' | 'kind' | 'type' | 'since' | 'until'
>;
const FILTER_NAMES = ['source', 'state', 'destination', 'user', 'userPrefix', 'product', 'kind', 'type', 'since', 'until'] as const;

/** The deliveries of a row: each destination's state, or `—` when the event has none. */
export function deliveryStates(deliveries: readonly DeliveryStateOf[]): HTMLElement | string {
  if (deliveries.length === 0) return '—';
  return h(
    'span',
    { class: 'delivery-states' },
    ...deliveries.map((d) => h('span', { class: 'delivery-state' }, `${d.destinationId} `, badge(d.state))),
  );
}

/**
 * Newest first, one page at a time through the API's `before` cursor, so a store of any size costs one small
 * query per refresh. Every filter and the page are in the address (`/console/events?userPrefix=ali&kind=renewal`):
 * Filter changes the address, and a reload, back and forward, or a shared link show the same list.
 */
export function eventsPage(main: HTMLElement, query: URLSearchParams, shell: Shell): Page {
  const given = Object.fromEntries(FILTER_NAMES.map((name) => [name, query.get(name) ?? ''])) as Record<keyof EventFilters, string>;
  const source = select('source', idOptions([], given.source), given.source);
  const destination = select('destination', idOptions([], given.destination), given.destination);
  const state = select('state', [['', 'Any'], ...DELIVERY_STATES.map((s) => [s, s.replace('_', ' ')] as const)], given.state);
  const kind = select('kind', [['', 'Any'], ...EVENT_KINDS.map((k) => [k, k.replaceAll('_', ' ')] as const)], given.kind);
  const user = h('input', { name: 'user', value: given.user || given.userPrefix, autocomplete: 'off', size: FILTER_SIZE });
  const prefix = h('input', { type: 'checkbox', name: 'prefix', checked: given.userPrefix !== '' });
  const product = h('input', { name: 'product', value: given.product, autocomplete: 'off', size: FILTER_SIZE });
  const type = h('input', { name: 'type', value: given.type, placeholder: 'e.g. RENEWAL', autocomplete: 'off', size: FILTER_SIZE });
  const since = h('input', { name: 'since', type: 'datetime-local', value: localTimeValue(msOf(given.since)) });
  const until = h('input', { name: 'until', type: 'datetime-local', value: localTimeValue(msOf(given.until)) });
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

  const filterForm = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Filter events',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const userId = user.value.trim();
        // A new filter starts from the newest page: no `before`.
        const filters: Record<keyof EventFilters, string | number | undefined> = {
          source: source.value,
          state: state.value,
          destination: destination.value,
          user: prefix.checked ? undefined : userId,
          userPrefix: prefix.checked ? userId : undefined,
          product: product.value.trim(),
          kind: kind.value,
          type: type.value.trim(),
          since: localTimeMs(since.value),
          until: localTimeMs(until.value),
        };
        shell.navigate(href('events', '', filters));
      },
    },
    field('Source', source),
    field('Delivery state', state),
    field('Destination', destination),
    field('User id', user),
    field('User id starts with it', prefix),
    field('Product', product),
    field('Kind', kind),
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
        shell.navigate(eventHref(findId.value.trim()));
      },
    },
    field('Event id', findId),
    h('button', { type: 'submit' }, 'Find event'),
  );
  main.append(h('div', { class: 'finders' }, findForm, customerSearch(shell)), filterForm, erasure, results, pager);

  const page: Page = {
    title: 'Events',
    async refresh() {
      // The address's own values go to the API as they are: a bad one is the API's 400, naming the field.
      const params = queryOf({ ...Object.fromEntries(FILTER_NAMES.map((name) => [name, given[name]])), limit: PAGE_SIZE });
      const before = query.get('before') ?? undefined;
      if (before !== undefined) params.set('before', before);
      const [answer, sources, destinations] = await Promise.all([
        admin<ListEventsResponse>('GET', `/events?${params}`),
        admin<ListSourcesResponse>('GET', '/sources').then((listed) => listed.sources.map((s) => s.id)),
        admin<ListDestinationsResponse>('GET', '/destinations').then((listed) => listed.destinations.map((d) => d.id)),
      ]);
      showIdOptions(source, sources);
      showIdOptions(destination, destinations);
      renderIfChanged(erasure, given.user, (userId) =>
        userId === ''
          ? []
          : [
              h('button', { type: 'button', class: 'danger', onclick: () => erase(userId) }, `Erase user ${userId}`),
              field('At the destinations too', atDestinations),
            ],
      );
      renderIfChanged(results, answer.events, (events) => [
        events.length === 0
          ? h('p', {}, 'No events match.')
          : table(
              ['Received', 'Event', 'Deliveries', 'User', 'Kind', 'Product', 'Type', 'Source', 'Environment'],
              events.map((event) => [
                time(event.receivedAtMs),
                h('a', { href: eventHref(event.id) }, event.id),
                deliveryStates(event.deliveries),
                event.userId ? h('a', { href: userHref(event.userId) }, event.userId) : '—',
                event.kind ?? '—',
                event.productId ?? '—',
                event.type,
                h('a', { href: sourceEventsHref(event.source) }, event.source),
                event.environment,
              ]),
              before === undefined ? 'Events, newest first' : 'Events, newest first (an older page)',
            ),
      ]);
      renderPager(pager, 'events', query, answer.next, shell);
    },
  };
  return page;
}

/** A time filter from the address: epoch ms, as the API takes it. */
function msOf(value: string): number | undefined {
  const ms = Number(value);
  return value !== '' && Number.isFinite(ms) ? ms : undefined;
}

/**
 * Find a customer: the id opens the customer page; "Users starting with it" lists the events of every user
 * id with that start, where each user links to their page.
 */
export function customerSearch(shell: Shell, userId = ''): HTMLFormElement {
  const input = h('input', { name: 'customer', value: userId, autocomplete: 'off', required: true, size: FILTER_SIZE });
  return h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Find a customer',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const wanted = input.value.trim();
        if (wanted === '') return;
        if ((event as SubmitEvent).submitter?.getAttribute('name') === 'prefix') shell.navigate(href('events', '', { userPrefix: wanted }));
        else shell.navigate(userHref(wanted));
      },
    },
    field('Customer (app user id or its start)', input),
    h('button', { type: 'submit', name: 'customer' }, 'Show customer'),
    h('button', { type: 'submit', name: 'prefix' }, 'Users starting with it'),
  );
}
