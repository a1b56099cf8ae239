import { h } from './dom.js';
import { renderIfChanged, type Shell } from './page.js';
import { href, type PageName } from './paths.js';

/** What an Older move leaves in the history entry it opens: the address of the page it came from. */
interface PagingState {
  readonly newer: string;
}

const newerOf = (state: unknown): string | undefined =>
  typeof state === 'object' && state !== null && typeof (state as PagingState).newer === 'string'
    ? (state as PagingState).newer
    : undefined;

/**
 * Older and Newer over a newest-first listing whose page is in the address (`before`, the API's cursor), so a
 * reload, back and forward, and a shared link show the same page. The API pages one way only: Newer goes back
 * to the page Older came from, and on an address opened as it is (a shared link), to the newest.
 */
export function renderPager(container: Element, name: PageName, query: URLSearchParams, next: string | undefined, shell: Shell): void {
  const here = href(name, '', query);
  const onOlderPage = query.has('before');
  const cameFrom = newerOf(history.state);
  renderIfChanged(container, { here, next, newer: onOlderPage ? (cameFrom ?? null) : undefined }, (can) => [
    can.newer === undefined
      ? null
      : can.newer === null
        ? h('button', { type: 'button', onclick: () => shell.navigate(withBefore(name, query, undefined)) }, 'Newest')
        : h('button', { type: 'button', onclick: () => history.back() }, 'Newer'),
    can.next === undefined
      ? null
      : h(
          'button',
          {
            type: 'button',
            onclick: () => shell.navigate(withBefore(name, query, can.next), { state: { newer: here } satisfies PagingState }),
          },
          'Older',
        ),
  ]);
}

function withBefore(name: PageName, query: URLSearchParams, before: string | undefined): string {
  const moved = new URLSearchParams(query);
  if (before === undefined) moved.delete('before');
  else moved.set('before', before);
  return href(name, '', moved);
}
