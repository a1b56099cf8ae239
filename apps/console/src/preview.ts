import { admin } from './api.js';
import { field, h, replace, select } from './dom.js';
import { requestView } from './event.js';
import type { Page, Shell } from './page.js';
import type { ListSourcesResponse, PreviewResult } from './admin-api.js';

/** Nothing is stored or sent: the API builds each destination's requests and says why one would skip. */
export function previewPage(main: HTMLElement, shell: Shell): Page {
  const webhook = h('textarea', { name: 'webhook', rows: 14, spellcheck: 'false', required: true });
  // Which source's parser reads the webhook; until the sources load, the runner's first.
  const source = select('source', [['', 'First configured']]);
  const result = h('div', { 'aria-live': 'polite' });
  /** Counts submissions, so an answer that comes back after a newer submission is not shown. */
  let asked = 0;
  const form = h(
    'form',
    {
      'aria-label': 'Preview a webhook',
      onsubmit: (event: Event) => {
        event.preventDefault();
        // The last answer goes at once: under a new error it would read as this webhook's result.
        replace(result);
        shell.notify('');
        const ask = ++asked;
        void shell.act(async () => {
          let body: unknown;
          try {
            body = JSON.parse(webhook.value);
          } catch (error) {
            throw new Error(`The webhook is not JSON: ${(error as Error).message}`);
          }
          const query = source.value === '' ? '' : `?source=${encodeURIComponent(source.value)}`;
          const answer = await admin<PreviewResult>('POST', `/preview${query}`, body);
          if (ask === asked) replace(result, ...render(answer));
        });
      },
    },
    field('Source', source),
    field('Webhook (JSON, as its source posts it)', webhook),
    h('button', { type: 'submit' }, 'Preview'),
  );
  main.append(form, result);
  return {
    title: 'Preview',
    refresh: async () => {
      if (source.options.length > 1 || source.value !== '') return;
      const { sources } = await admin<ListSourcesResponse>('GET', '/sources');
      replace(source, ...sources.map(({ id, plugin }) => h('option', { value: id }, `${id} (${plugin})`)));
    },
  };
}

function render(answer: PreviewResult): HTMLElement[] {
  const { event } = answer;
  return [
    h('p', {}, `${event.type} (${event.kind ?? 'no kind'}) for ${event.appUserId ?? 'no user'}, ${event.environment}, id ${event.id}`),
    ...answer.destinations.map((d) =>
      h(
        'section',
        { class: 'delivery', 'aria-label': `Preview for ${d.destinationId}` },
        h('h2', {}, d.destinationId, ' ', h('small', {}, d.plugin)),
        ...(d.status === 'send'
          ? [
              ...d.warnings.map((warning) => h('p', { class: 'hint' }, `Warning: ${warning}`)),
              ...d.requests.map((request, index) => requestView(request, `Request ${index + 1} (secrets redacted)`)),
            ]
          : d.status === 'skip'
            ? [h('p', {}, `Skips it: ${d.rule} — ${d.reason}`)]
            : [h('p', {}, `Would wait paused: missing ${d.missing.join(', ')}`)]),
      ),
    ),
  ];
}
