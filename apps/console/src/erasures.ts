import { admin } from './api.js';
import { badge, field, h, select, table, time } from './dom.js';
import { renderIfChanged, type Page, type Shell } from './page.js';
import type { ErasureJobView, ListErasuresResponse, RetryErasureResponse } from './admin-api.js';

const PAGE_SIZE = 100;

/**
 * Erasures: each user's erasure at each destination (SPEC §15), newest first, with the user's ids masked as the
 * API answers them (none once a job is done). A dead job can be retried.
 */
export function erasuresPage(main: HTMLElement, shell: Shell): Page {
  const list = h('div', { class: 'results' });
  const state = select('state', [
    ['', 'Every state'],
    ['pending', 'pending'],
    ['done', 'done'],
    ['dead', 'dead'],
  ]);
  state.onchange = () => void shell.act(() => page.refresh());
  main.append(
    h(
      'p',
      {},
      'Erasing a user with “at the destinations too” (or POST /admin/erase with destinations: true) adds one job per destination ',
      'whose plugin can erase. Jobs retry like deliveries and survive restarts; a done job keeps no id of the user.',
    ),
    h(
      'form',
      { class: 'filters', 'aria-label': 'Filter erasures', onsubmit: (event: Event) => event.preventDefault() },
      field('State', state),
    ),
    list,
  );

  const retry = (job: ErasureJobView) =>
    shell.act(async () => {
      await admin<RetryErasureResponse>('POST', `/erasures/${encodeURIComponent(job.id)}/retry`);
      shell.notify(`Erasure at ${job.destination} is pending again.`);
      await page.refresh();
    });

  const page: Page = {
    title: 'Erasures',
    async refresh() {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...(state.value && { state: state.value }) });
      const { jobs } = await admin<ListErasuresResponse>('GET', `/erasures?${query}`);
      renderIfChanged(list, jobs, (rows) => [
        rows.length === 0
          ? h('p', {}, 'No erasure jobs.')
          : table(
              ['Created', 'Destination', 'State', 'Step', 'Attempts', 'Ids', 'Last answer', ''],
              rows.map((job) => [
                time(job.createdAtMs),
                job.destinationConfigured ? job.destination : `${job.destination} (not configured: waits)`,
                badge(job.state),
                `${job.step} of ${job.steps}`,
                job.attempts,
                job.identities.masked.length > 0
                  ? `${job.identities.count}: ${job.identities.masked.join(', ')}`
                  : `${job.identities.count}`,
                job.lastAnswer ?? '—',
                job.state === 'dead'
                  ? h('button', { type: 'button', 'aria-label': `Retry erasure at ${job.destination}`, onclick: () => retry(job) }, 'Retry')
                  : '',
              ]),
              rows.length === PAGE_SIZE ? `The newest ${PAGE_SIZE} erasure jobs` : 'Erasure jobs',
            ),
      ]);
    },
  };
  return page;
}
