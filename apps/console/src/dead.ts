import { admin } from './api.js';
import { field, h, localTimeMs, select, table, time } from './dom.js';
import { eventHref } from './events.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import type {
  ListDeliveriesResponse,
  ListDestinationsResponse,
  ReplayJob,
  ShowReplayResponse,
  StartReplayBody,
  StartReplayResponse,
} from './admin-api.js';

const PAGE_SIZE = 200;
const JOB_POLL_MS = 1_000;

export function deadPage(main: HTMLElement, shell: Shell): Page {
  const selected = new Set<string>();
  let shownIds: string[] = [];
  const list = h('div', { class: 'results' });
  const replaySelected = h('button', { type: 'button', onclick: () => shell.act(() => replay({ deliveryIds: [...selected] })) }, 'Replay');
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
  const windowForm = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Replay a window',
      onsubmit: (event: Event) => {
        event.preventDefault();
        void shell.act(() =>
          replay({
            from: localTimeMs(from.value),
            to: localTimeMs(to.value),
            destination: destination.value || undefined,
            states: ['dead'],
          }),
        );
      },
    },
    field('Received from', from),
    field('Received before', to),
    field('Destination', destination),
    h('button', { type: 'submit' }, 'Replay window'),
  );
  main.append(
    h('p', {}, 'Deliveries that will not be retried by themselves. Replay makes them pending again with a fresh retry window.'),
    h('div', { class: 'actions' }, replaySelected, selectAll),
    list,
    h('h2', {}, 'Replay a window'),
    windowForm,
  );

  async function replay(request: StartReplayBody): Promise<void> {
    const answer = await admin<StartReplayResponse>('POST', '/replay', request);
    selected.clear();
    const { replayed } = await follow(answer.job);
    shell.notify(`Replayed ${replayed} deliver${replayed === 1 ? 'y' : 'ies'}.`);
    await page.refresh(true);
  }

  /** A background replay: wait for its end, showing progress. */
  async function follow(job: ReplayJob): Promise<ReplayJob> {
    let current = job;
    while (current.state === 'running') {
      shell.notify(`Replaying… ${current.replayed} so far.`);
      await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
      current = (await admin<ShowReplayResponse>('GET', `/replays/${encodeURIComponent(job.id)}`)).job;
    }
    if (current.state === 'failed')
      throw new Error(`The replay failed after ${current.replayed}: ${current.error ?? 'see the runner log'}`);
    return current;
  }

  const page = {
    title: 'Dead letters',
    async refresh(force = false) {
      const [deliveries, destinations] = await Promise.all([
        admin<ListDeliveriesResponse>('GET', `/deliveries?state=dead&limit=${PAGE_SIZE}`).then((answer) => answer.deliveries),
        admin<ListDestinationsResponse>('GET', '/destinations').then((answer) => answer.destinations.map((d) => d.id)),
      ]);
      shownIds = deliveries.map((d) => d.id);
      for (const id of [...selected]) if (!shownIds.includes(id)) selected.delete(id);
      replaySelected.disabled = selected.size === 0;
      selectAll.disabled = deliveries.length === 0;
      if (destination.options.length !== destinations.length + 1) {
        const chosen = destination.value;
        destination.replaceChildren(
          ...[['', 'Every destination'], ...destinations.map((id) => [id, id])].map(([value, label]) =>
            h('option', { value, selected: value === chosen }, label),
          ),
        );
      }
      renderIfChanged(list, { deliveries, selected: force ? [...selected] : null }, ({ deliveries: rows }) => [
        rows.length === 0
          ? h('p', {}, 'No dead deliveries.')
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
              rows.length === PAGE_SIZE ? `The newest ${PAGE_SIZE} dead deliveries (replay a window for more)` : 'Dead deliveries',
            ),
      ]);
    },
  };
  return page;
}
