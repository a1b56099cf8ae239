/**
 * The header: the brand alone until signed in; then the pages and Sign out, which a narrow screen folds behind
 * the Menu button (console.css decides the width, from the button's aria-expanded).
 */
export interface Header {
  /** Shows the pages and Sign out when signed in, the brand alone otherwise; either way the menu starts closed. */
  signedIn(yes: boolean): void;
}

export function setUpHeader(): Header {
  const button = document.getElementById('menu-button') as HTMLButtonElement;
  const menu = document.getElementById('menu') as HTMLElement;

  const open = (yes: boolean) => button.setAttribute('aria-expanded', String(yes));
  const isOpen = () => button.getAttribute('aria-expanded') === 'true';

  button.addEventListener('click', () => open(!isOpen()));
  // A chosen page closes the menu, so the page is what the phone shows next.
  menu.addEventListener('click', (event) => {
    if ((event.target as Element).closest('a')) open(false);
  });
  (button.parentElement as HTMLElement).addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !isOpen()) return;
    open(false);
    button.focus();
  });

  return {
    signedIn(yes) {
      open(false);
      button.hidden = !yes;
      menu.hidden = !yes;
    },
  };
}
