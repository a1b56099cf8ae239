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
import { previewPage } from './preview.js';

/** New events and state changes show up within this long, without a reload. */
const REFRESH_MS = 2_000;

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const notice = document.getElementById('notice') as HTMLElement;
const signOutButton = document.getElementById('sign-out') as HTMLButtonElement;
const header = setUpHeader();

let current: Page | undefined;

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
          if (!location.hash || location.hash === '#') location.hash = '#/overview';
          else route();
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

/** `#/page/param?query` → the page; an unknown address shows the overview. */
function route(): void {
  if (!token.get()) return showSignIn();
  header.signedIn(true);
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?', 2);
  const [name, ...rest] = path.split('/');
  const param = decodeURIComponent(rest.join('/'));
  const body = h('div');
  const heading = h('h1', {});
  replace(main, heading, body);
  current =
    name === 'events' && param
      ? eventPage(body, param)
      : name === 'events'
        ? eventsPage(body, new URLSearchParams(search), shell)
        : name === 'dead'
          ? deadPage(body, shell)
          : name === 'destinations'
            ? destinationsPage(body, shell)
            : name === 'preview'
              ? previewPage(body, shell)
              : name === 'erasures'
                ? erasuresPage(body, shell)
                : overviewPage(body);
  heading.textContent = current.title;
  document.title = `${current.title} · Ferry console`;
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#/${name || 'overview'}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  shell.notify('');
  main.focus();
  void refresh();
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
window.addEventListener('hashchange', route);
// Polling rather than a stream keeps the runner's side to the plain admin API; a hidden tab costs nothing.
setInterval(() => {
  if (!document.hidden) void refresh();
}, REFRESH_MS);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refresh();
});
route();
