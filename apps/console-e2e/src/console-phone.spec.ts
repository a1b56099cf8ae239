import type { Locator, Page } from 'playwright-core';
import { webhookBody } from '@ferry/testkit';
import { DESTINATION, haveChromium, startConsoleRig, type ConsoleRig } from './rig';

// The console on a phone (375 px, SPEC §17): every page without sideways scroll, wide tables scrolling in their
// own box, a header that folds; before sign-in nothing but the sign-in form, at a phone's width and a laptop's.
// (console.spec.ts says why the suite is skipped without Chromium, and fails under CI.)

const PHONE = { width: 375, height: 740 };
const LAPTOP = { width: 1280, height: 860 };
const EVENT = 'evt-phone-renewal-0001';
const DEAD_EVENT = 'evt-phone-dead-0001';
const ERASED_USER = 'phone-erased-user';

let rig: ConsoleRig;
let page: Page;
const notice = () => page.locator('#notice');
const main = () => page.locator('main');
const menuButton = () => page.getByRole('button', { name: 'Menu' });

interface ConsolePage {
  readonly name: string;
  /** Opens it as an operator would, through the menu and links (addresses are the console's business), and waits for its content. */
  open(): Promise<void>;
}

async function openFromMenu(link: string, loaded: () => Locator): Promise<void> {
  await rig.navigate(link);
  await page.getByRole('heading', { name: link, exact: true }).waitFor();
  await loaded().first().waitFor();
}

/** Every page of the console. */
const PAGES: readonly ConsolePage[] = [
  { name: 'overview', open: () => openFromMenu('Overview', () => page.getByRole('cell', { name: DESTINATION })) },
  { name: 'events', open: () => openFromMenu('Events', () => page.getByRole('link', { name: EVENT })) },
  {
    name: 'one event',
    async open() {
      await openFromMenu('Events', () => page.getByRole('link', { name: EVENT }));
      await page.getByRole('link', { name: EVENT }).click();
      await page
        .getByRole('region', { name: `Delivery to ${DESTINATION}` })
        .locator('figure.request')
        .waitFor();
    },
  },
  { name: 'dead letters', open: () => openFromMenu('Dead letters', () => page.getByRole('row', { name: new RegExp(DEAD_EVENT) })) },
  { name: 'destinations', open: () => openFromMenu('Destinations', () => page.getByRole('button', { name: 'Check connection' })) },
  {
    name: 'preview',
    async open() {
      await openFromMenu('Preview', () => page.getByRole('button', { name: 'Preview' }));
      await page.getByLabel('Webhook (JSON, as its source posts it)').fill(webhookBody('initial_purchase', { id: 'evt-phone-preview' }));
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.locator('figure.request').waitFor();
    },
  },
  { name: 'erasures', open: () => openFromMenu('Erasures', () => page.getByRole('cell', { name: DESTINATION })) },
  { name: 'customers', open: () => openFromMenu('Customers', () => page.getByRole('button', { name: 'Show customer' })) },
  {
    name: 'customer',
    async open() {
      await openFromMenu('Events', () => page.getByRole('link', { name: EVENT }));
      // The user of a row links to the customer's page.
      await page
        .getByRole('row', { name: new RegExp(EVENT) })
        .getByRole('cell')
        .nth(3)
        .getByRole('link')
        .click();
      await page.locator('section.user-event').first().waitFor();
    },
  },
];

/** What sticks out of the window sideways: the page's own scroll width, and each table box's right edge. */
const overflow = () =>
  page.evaluate(() => ({
    pageWidth: document.documentElement.scrollWidth,
    window: innerWidth,
    tableBoxes: [...document.querySelectorAll('main table')].map((table) => {
      const box = table.parentElement as HTMLElement;
      return {
        role: box.getAttribute('role'),
        focusable: box.tabIndex === 0,
        named:
          (box.getAttribute('aria-label') ?? document.getElementById(box.getAttribute('aria-labelledby') ?? '')?.textContent ?? '') !== '',
        scrollsSideways: getComputedStyle(box).overflowX === 'auto',
        withinWindow: box.getBoundingClientRect().right <= innerWidth,
      };
    }),
  }));

/** The contrast ratio (WCAG) of each visible piece of header text against the header's background. */
const headerContrasts = () =>
  page.evaluate(() => {
    const luminance = (css: string) => {
      const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((c) => {
        const v = Number(c) / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = luminance(getComputedStyle(document.querySelector('header') as Element).backgroundColor);
    return [...document.querySelectorAll<HTMLElement>('header .brand, header a, header button')]
      .filter((element) => element.offsetParent !== null)
      .map((element) => {
        const [light, dark] = [luminance(getComputedStyle(element).color), background].sort((a, b) => b - a);
        return { text: element.textContent, ratio: Math.round(((light + 0.05) / (dark + 0.05)) * 10) / 10 };
      });
  });

/** Before sign-in and after Sign out: the brand, the sign-in form, and nothing else. */
async function expectOnlySignIn(): Promise<void> {
  await page.getByRole('form', { name: 'Sign in' }).waitFor();
  expect(await page.getByRole('navigation').count()).toBe(0);
  expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
  expect(await menuButton().count()).toBe(0);
  expect(await page.locator('header').innerText()).toBe('Ferry');
  expect(await main().evaluate((element) => element.children.length)).toBe(1);
}

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig({ viewport: PHONE });
  page = rig.page;
  await rig.postWebhook(webhookBody('initial_purchase', { id: 'evt-phone-initial-0001' }));
  await rig.postWebhook(webhookBody('renewal', { id: EVENT }));
  await rig.until('the renewal to be delivered', async () => {
    const { deliveries } = await rig.admin<{ deliveries: { state: string }[] }>('GET', `/events/${EVENT}`);
    return deliveries.every((d) => d.state === 'delivered');
  });
  rig.fake.inject({ type: 'status', status: 400 });
  await rig.postWebhook(webhookBody('renewal', { id: DEAD_EVENT }));
  await rig.until('the refused delivery to die', async () => {
    const { deliveries } = await rig.admin<{ deliveries: unknown[] }>('GET', '/deliveries?state=dead');
    return deliveries.length === 1;
  });
  await rig.postWebhook(webhookBody('initial_purchase', { id: 'evt-phone-erased-0001', app_user_id: ERASED_USER, aliases: [ERASED_USER] }));
  await rig.admin('POST', '/erase', { appUserId: ERASED_USER, destinations: true });
});

afterAll(async () => {
  await rig?.close();
});

afterEach(() => {
  if (rig) expect(rig.takeProblems()).toEqual([]);
});

(haveChromium ? describe : describe.skip)('the console on a phone', () => {
  it.each([
    ['a laptop', LAPTOP],
    ['a phone', PHONE],
  ])('shows nothing but the sign-in form before sign-in and after Sign out, on %s', async (_width, viewport) => {
    await page.setViewportSize(viewport);
    await page.goto(`${rig.url}/console`);
    await expectOnlySignIn();

    await rig.signIn();
    if (viewport === PHONE) await menuButton().click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await notice().filter({ hasText: 'Signed out.' }).waitFor();
    await expectOnlySignIn();
  });

  it('folds the header behind a Menu button on a phone, which the keyboard opens and closes; a laptop shows every page', async () => {
    await page.setViewportSize(LAPTOP);
    await rig.signIn();
    expect(await menuButton().isVisible()).toBe(false);
    expect(await page.getByRole('navigation').getByRole('link').count()).toBe(7);
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);

    await page.setViewportSize(PHONE);
    const nav = page.getByRole('navigation');
    expect(await menuButton().isVisible()).toBe(true);
    expect(await menuButton().getAttribute('aria-expanded')).toBe('false');
    expect(await nav.count()).toBe(0);
    const header = await page.locator('header').evaluate((element) => ({
      height: element.getBoundingClientRect().height,
      fits: element.scrollWidth <= element.clientWidth && element.getBoundingClientRect().right <= innerWidth,
    }));
    expect(header.fits).toBe(true);
    // One line: the brand and the button.
    expect(header.height).toBeLessThan(60);

    await menuButton().focus();
    await page.keyboard.press('Enter');
    expect(await menuButton().getAttribute('aria-expanded')).toBe('true');
    await nav.getByRole('link', { name: 'Events' }).waitFor();
    expect(await page.locator('header').evaluate((element) => element.getBoundingClientRect().right <= innerWidth)).toBe(true);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Overview');
    await page.keyboard.press('Escape');
    expect(await menuButton().getAttribute('aria-expanded')).toBe('false');
    expect(await nav.count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('menu-button');

    // A page chosen from the menu opens and the menu folds again.
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    expect(await menuButton().getAttribute('aria-expanded')).toBe('false');
    expect(await nav.count()).toBe(0);
  });

  it.each([
    ['a laptop', LAPTOP],
    ['a phone', PHONE],
  ])('keeps the header text readable on its background on %s', async (_width, viewport) => {
    await page.setViewportSize(viewport);
    if (viewport === PHONE) await menuButton().click();
    const contrasts = await headerContrasts();
    expect(contrasts.length).toBeGreaterThanOrEqual(8); // the brand, six pages and Sign out
    for (const { text, ratio } of contrasts) expect({ text, ratio: Math.min(ratio, 4.5) }).toEqual({ text, ratio: 4.5 });
    if (viewport === PHONE) await page.keyboard.press('Escape');
  });

  it.each(PAGES.map((consolePage) => [consolePage.name, consolePage] as const))(
    'shows %s at 375 px without sideways scroll, its tables scrolling in their own named box',
    async (_name, consolePage) => {
      await page.setViewportSize(PHONE);
      await consolePage.open();
      const { pageWidth, window, tableBoxes } = await overflow();
      expect(pageWidth).toBeLessThanOrEqual(window);
      for (const box of tableBoxes)
        expect(box).toEqual({ role: 'region', focusable: true, named: true, scrollsSideways: true, withinWindow: true });
      expect(await page.locator('header').evaluate((element) => element.getBoundingClientRect().right <= innerWidth)).toBe(true);
    },
  );

  it('scrolls a wide table inside its box, from the keyboard too', async () => {
    await page.setViewportSize(PHONE);
    await openFromMenu('Events', () => page.getByRole('link', { name: EVENT }));
    const box = page.getByRole('region', { name: /^Events, newest first/ });
    const sizes = () =>
      box.evaluate((element) => ({ scrollWidth: element.scrollWidth, clientWidth: element.clientWidth, left: element.scrollLeft }));
    const before = await sizes();
    expect(before.scrollWidth).toBeGreaterThan(before.clientWidth);
    expect(before.left).toBe(0);
    await box.focus();
    await page.keyboard.press('ArrowRight');
    await rig.until('the table to scroll sideways', async () => (await sizes()).left > 0);
    expect(await page.evaluate(() => scrollX)).toBe(0);
  });

  it('clears the last Preview result when the next Preview fails', async () => {
    await page.setViewportSize(PHONE);
    await openFromMenu('Preview', () => page.getByRole('button', { name: 'Preview' }));
    const webhook = page.getByLabel('Webhook (JSON, as its source posts it)');
    const results = () => page.locator('main section[aria-label^="Preview for"]');

    await webhook.fill(webhookBody('initial_purchase', { id: 'evt-phone-preview-ok' }));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('figure.request').waitFor();
    await rig.expectingRefusal(400, async () => {
      await webhook.fill('{"event": {}}');
      await page.getByRole('button', { name: 'Preview' }).click();
      await notice().filter({ hasText: 'invalid webhook' }).waitFor();
    });
    expect(await results().count()).toBe(0);
    expect(await main().innerText()).not.toContain('evt-phone-preview-ok');

    await webhook.fill(webhookBody('initial_purchase', { id: 'evt-phone-preview-again' }));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('figure.request').waitFor();
    // The old error goes too.
    expect(await notice().textContent()).toBe('');
    await webhook.fill('not json');
    await page.getByRole('button', { name: 'Preview' }).click();
    await notice().filter({ hasText: 'The webhook is not JSON' }).waitFor();
    expect(await results().count()).toBe(0);
  });
});
