/**
 * The console's addresses: real paths under /console (`/console/events/<id>`, `/console/events?user=…`), so
 * every page and its filters can be reloaded, bookmarked and shared. The runner answers the console's page for
 * each of these names (CONSOLE_PAGES in apps/runner/src/server.ts).
 */

export const CONSOLE_ROOT = '/console';

export const PAGE_NAMES = ['overview', 'events', 'dead', 'users', 'destinations', 'preview', 'erasures'] as const;
export type PageName = (typeof PAGE_NAMES)[number];

/** Where a console address leads: the page, its one path parameter (an id), and its query (filters, paging). */
export interface Address {
  readonly name: PageName;
  readonly param: string;
  readonly query: URLSearchParams;
}

/** A query given as an object: empty and undefined values are left out, so addresses stay short. */
export type QueryValues = Readonly<Record<string, string | number | undefined>>;

export function queryOf(values: QueryValues): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== '') query.set(name, String(value));
  return query;
}

export function href(name: PageName, param = '', query: URLSearchParams | QueryValues = {}): string {
  const search = (query instanceof URLSearchParams ? query : queryOf(query)).toString();
  return `${CONSOLE_ROOT}/${name}${param ? `/${encodeURIComponent(param)}` : ''}${search ? `?${search}` : ''}`;
}

export const eventHref = (id: string) => href('events', id);
export const userHref = (userId: string) => href('users', userId);
/** The events of one source: what the overview's sources and the events' source column link to. */
export const sourceEventsHref = (sourceId: string) => href('events', '', { source: sourceId });

const isPageName = (name: string): name is PageName => (PAGE_NAMES as readonly string[]).includes(name);

/** The address of a path under /console; undefined for any other path. `/console` itself is the overview. */
export function addressOf(pathname: string, search: string): Address | undefined {
  if (pathname !== CONSOLE_ROOT && !pathname.startsWith(`${CONSOLE_ROOT}/`)) return undefined;
  const [name, ...rest] = pathname.slice(CONSOLE_ROOT.length + 1).split('/');
  if (name !== '' && !isPageName(name)) return undefined;
  let param = rest.join('/');
  try {
    param = decodeURIComponent(param);
  } catch {
    // A hand-typed `%` that is no escape: the id as typed.
  }
  return { name: name === '' ? 'overview' : name, param, query: new URLSearchParams(search) };
}

/** The path of an old hash address (`#/events/<id>`, `#/events?user=…`, bookmarked before paths), or undefined. */
export function pathOfHash(hash: string): string | undefined {
  return hash.startsWith('#/') ? `${CONSOLE_ROOT}/${hash.slice(2)}` : undefined;
}
