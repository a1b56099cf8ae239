import { admin, SignedOut, token } from './api.js';
import { deadPage } from './dead.js';
import { destinationsPage } from './destinations.js';
import { erasuresPage } from './erasures.js';
import { field, h, replace } from './dom.js';
import { eventPage } from './event.js';
import { eventsPage } from './events.js';
import { setUpHeader } from './header.js';
import { overviewPage } from './overview.js';
import type { Page, Shell } from './page.js';
import { addressOf, CONSOLE_ROOT, pathOfHash, type Address } from './paths.js';
import { previewPage } from './preview.js';
import { userPage } from './user.js';

/** New events and state changes show up within this long, without a reload. */
const REFRESH_MS = 2_000;

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const notice = document.getElementById('notice') as HTMLElement;
const signOutButton = document.getElementById('sign-out') as HTMLButtonElement;
const header = setUpHeader();

let current: Page | undefined;
/** The address (path and query) of the page shown. */
let shownAddress = '';

const shell: Shell = {
  notify(message, kind = 'info') {
    notice.textContent = message;
    notice.className = kind;
  },
  async act(action) {
    try {
      await action();
    } catch (error) {
      failed(error);
    }
  },
  navigate(to, options = {}) {
    if (options.replace) history.replaceState(options.state ?? null, '', to);
    else history.pushState(options.state ?? null, '', to);
    route();
  },
};

function failed(error: unknown): void {
  if (error instanceof SignedOut) return signOut(error.message);
  shell.notify(error instanceof Error ? error.message : String(error), 'error');
}

function signOut(message: string): void {
  token.clear();
  current = undefined;
  showSignIn();
  shell.notify(message, 'error');
}

function showSignIn(): void {
  header.signedIn(false);
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true });
  const form = h(
    'form',
    {
      class: 'sign-in',
      'aria-label': 'Sign in',
      onsubmit: (event: Event) => {
        event.preventDefault();
        token.set(input.value);
        void shell.act(async () => {
          // Checked once here, so a wrong token is refused at the door rather than on the first page.
          await admin('GET', '/destinations');
          shell.notify('');
          route();
        });
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Enter the runner’s admin token (server.adminToken). It is kept for this tab only.'),
    field('Admin token', input),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  replace(main, form);
  document.title = 'Sign in · Ferry console';
  input.focus();
}

/** The page for an address under /console; `/console` itself is the overview. */
function pageFor({ name, param, query }: Address, body: HTMLElement): Page {
  switch (name) {
    case 'events':
      return param ? eventPage(body, param, shell) : eventsPage(body, query, shell);
    case 'dead':
      return deadPage(body, query, shell);
    case 'users':
      return userPage(body, param, shell);
    case 'destinations':
      return destinationsPage(body, shell);
    case 'preview':
      return previewPage(body, shell);
    case 'erasures':
      return erasuresPage(body, shell);
    case 'overview':
      return overviewPage(body);
  }
}

/** Shows the page of the current address (`/console/<page>/<id>?<query>`). */
function route(): void {
  // An old hash address (bookmarked before paths) goes to its path, in place of itself.
  const fromHash = pathOfHash(location.hash);
  if (fromHash !== undefined) history.replaceState(null, '', fromHash);
  shownAddress = location.pathname + location.search;
  if (!token.get()) return showSignIn();
  header.signedIn(true);
  const address = addressOf(location.pathname, location.search) ?? addressOf(CONSOLE_ROOT, '')!;
  const body = h('div');
  const heading = h('h1', {});
  replace(main, heading, body);
  current = pageFor(address, body);
  heading.textContent = current.title;
  document.title = `${current.title} · Ferry console`;
  for (const link of nav.querySelectorAll('a')) {
    if (addressOf(link.pathname, '')?.name === address.name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  shell.notify('');
  main.focus();
  void refresh();
}

/**
 * A click on a link to a console address opens it without a reload; a click with a modifier (new tab, new
 * window) or on a link elsewhere is the browser's.
 */
function followLink(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest('a') : null;
  if (!link || link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
  if (link.hash && link.pathname === location.pathname && link.search === location.search) return; // "Skip to content"
  if (addressOf(link.pathname, link.search) === undefined) return;
  event.preventDefault();
  shell.navigate(link.pathname + link.search);
}

async function refresh(): Promise<void> {
  const page = current;
  if (!page) return;
  try {
    await page.refresh();
  } catch (error) {
    if (page === current) failed(error);
  }
}

signOutButton.addEventListener('click', () => signOut('Signed out.'));
document.addEventListener('click', followLink);
// Back, forward, and an old address typed in; a move within the page (`#main`, skip to content) keeps the page.
const movedWithinPage = () => location.pathname + location.search === shownAddress && pathOfHash(location.hash) === undefined;
window.addEventListener('popstate', () => movedWithinPage() || route());
window.addEventListener('hashchange', () => movedWithinPage() || route());
// Polling rather than a stream keeps the runner's side to the plain admin API; a hidden tab costs nothing.
setInterval(() => {
  if (!document.hidden) void refresh();
}, REFRESH_MS);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refresh();
});
route();
