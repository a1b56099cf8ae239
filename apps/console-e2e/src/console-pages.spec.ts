import type { Page } from 'playwright-core';
import { webhookBody, type FixtureName } from '@ferry/testkit';
import { DESTINATION, haveChromium, startConsoleRig, type ConsoleRig } from './rig';

// The console's second level (SPEC §17) in a real browser against the built runner: real addresses, the events
// list's states and search, replay from an event, dead letters past a page and by filter, the customer page, and
// the overview's charts. (console.spec.ts says why a machine without Chromium skips this.)

let rig: ConsoleRig;
let url: string;
let page: Page;
/** Webhooks this suite posted (every one stored, none a duplicate): what the charts must count. */
let posted = 0;
const notice = () => page.locator('#notice');
const DAY_MS = 86_400_000;
/** Event times of the customer's webhooks: in the past, a day apart. */
const T0 = Date.UTC(2025, 2, 1, 10);

/**
 * Posts a fixture's webhook. Without the fixtures' `$clevertapId` (one id for every fixture user), each event's
 * CleverTap profile is its own user's, so the ordering rule never holds one user's state behind another's.
 */
async function post(name: FixtureName, overrides: Record<string, unknown>): Promise<void> {
  await rig.postWebhook(webhookBody(name, { subscriber_attributes: {}, ...overrides }));
  posted++;
}

interface DeliveryRowShape {
  id: string;
  eventId: string;
  state: string;
}
const deliveriesIn = async (state: string) =>
  (await rig.admin<{ deliveries: DeliveryRowShape[] }>('GET', `/deliveries?state=${state}&limit=500`)).deliveries;

/** Waits until the event's one delivery is in `state`. */
const deliveryOf = (eventId: string, state: string) =>
  rig.until(`${eventId} ${state}`, async () => {
    const event = await rig.admin<{ deliveries: { id: string; state: string }[] }>('GET', `/events/${encodeURIComponent(eventId)}`);
    return event.deliveries[0]?.state === state && event.deliveries[0];
  });

/** A `datetime-local` value of this machine's (and the browser's) local time. */
function localInput(ms: number): string {
  const at = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}T${two(at.getHours())}:${two(at.getMinutes())}`;
}

const markPage = () => page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
const pageStayed = () => page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true);

beforeAll(async () => {
  if (!haveChromium) return;
  // profileSync: the CleverTap destination sends the subscription state, so the customer page has state to show.
  rig = await startConsoleRig({ settings: { profileSync: true } });
  url = rig.url;
  page = rig.page;
  await rig.signIn();
});

afterAll(async () => {
  await rig?.close();
});

afterEach(() => {
  if (rig) expect(rig.takeProblems()).toEqual([]);
});

(haveChromium ? describe : describe.skip)('the console, second level', () => {
  it('has real addresses: links open pages without a reload, and a reload, back, an old #/ bookmark and a typed path open the same page', async () => {
    await post('initial_purchase', { id: 'addr-1', app_user_id: 'addr-user' });
    await markPage();
    await rig.navigate('Events');
    expect(page.url()).toBe(`${url}/console/events`);
    await page.getByRole('link', { name: 'addr-1' }).click();
    await page.getByRole('heading', { name: 'Event addr-1' }).waitFor();
    expect(page.url()).toBe(`${url}/console/events/addr-1`);
    expect(await pageStayed()).toBe(true);
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Events' }).getAttribute('aria-current')).toBe('page');

    await page.goBack();
    await page.getByRole('link', { name: 'addr-1' }).waitFor();
    expect(page.url()).toBe(`${url}/console/events`);
    await page.goForward();
    await page.getByRole('heading', { name: 'Event addr-1' }).waitFor();

    await page.reload();
    await page.getByRole('heading', { name: 'Event addr-1' }).waitFor();
    // An address from before paths, bookmarked: it lands on its path.
    await page.goto(`${url}/console#/events/addr-1`);
    await page.getByRole('heading', { name: 'Event addr-1' }).waitFor();
    expect(page.url()).toBe(`${url}/console/events/addr-1`);
    await page.goto(`${url}/console#/dead`);
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    expect(page.url()).toBe(`${url}/console/dead`);
    // Every link of the navigation is a path.
    for (const link of await page.getByRole('navigation').getByRole('link').all())
      expect(new URL((await link.getAttribute('href'))!, url).pathname).toMatch(/^\/console\/[a-z]+$/);
  });

  it("shows each row's delivery states, searches by user id prefix, product and kind, and keeps every filter in the address", async () => {
    await post('initial_purchase', { id: 'list-1', app_user_id: 'list-alice-1' });
    await post('renewal', { id: 'list-2', app_user_id: 'list-alice-2', product_id: 'com.example.basic' });
    await post('renewal', { id: 'list-3', app_user_id: 'list-bob', product_id: 'com.example.basic' });
    for (const id of ['list-1', 'list-2', 'list-3']) await deliveryOf(id, 'delivered');

    await rig.navigate('Events');
    const row = (id: string) => page.getByRole('row', { name: new RegExp(`\\b${id}\\b`) });
    await row('list-1').getByText(`${DESTINATION} delivered`).waitFor();
    const shownEvents = async () =>
      (await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.querySelectorAll('td')[1]?.textContent))).sort();

    // A prefix and a kind.
    await page.getByLabel('User id', { exact: true }).fill('list-alice');
    await page.getByLabel('User id starts with it').check();
    await page.getByLabel('Kind').selectOption('renewal');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`${url}/console/events?userPrefix=list-alice&kind=renewal`);
    await rig.until('list-2 alone', async () => JSON.stringify(await shownEvents()) === '["list-2"]');
    await row('list-2').getByText(`${DESTINATION} delivered`).waitFor();

    // The prefix alone, as a shared link opens it.
    await page.goto(`${url}/console/events?userPrefix=list-alice`);
    await rig.until('list-1 and list-2', async () => JSON.stringify(await shownEvents()) === '["list-1","list-2"]');
    expect(await page.getByLabel('User id', { exact: true }).inputValue()).toBe('list-alice');
    expect(await page.getByLabel('User id starts with it').isChecked()).toBe(true);

    // A product: a new filter, a new address; back restores the previous one, reload keeps it.
    await page.getByLabel('User id', { exact: true }).fill('');
    await page.getByLabel('User id starts with it').uncheck();
    await page.getByLabel('Product', { exact: true }).fill('com.example.basic');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(`${url}/console/events?product=com.example.basic`);
    await rig.until('list-2 and list-3', async () => JSON.stringify(await shownEvents()) === '["list-2","list-3"]');
    await page.goBack();
    await page.waitForURL(`${url}/console/events?userPrefix=list-alice`);
    await rig.until('list-1 and list-2 again', async () => JSON.stringify(await shownEvents()) === '["list-1","list-2"]');
    expect(await page.getByLabel('Product', { exact: true }).inputValue()).toBe('');
    await page.reload();
    await rig.until('list-1 and list-2 after a reload', async () => JSON.stringify(await shownEvents()) === '["list-1","list-2"]');
    expect(await page.getByLabel('User id', { exact: true }).inputValue()).toBe('list-alice');

    // The exact user, the kind and a time window from a copied address; the window shows in its fields.
    const sinceMs = Date.now() - 3_600_000;
    const copied = `${url}/console/events?user=list-bob&kind=renewal&since=${sinceMs}`;
    await page.goto(copied);
    await rig.until('list-3 alone', async () => JSON.stringify(await shownEvents()) === '["list-3"]');
    expect(await page.getByLabel('Kind').inputValue()).toBe('renewal');
    expect(await page.getByLabel('Received from').inputValue()).toBe(localInput(sinceMs));

    // The user in a row is a link to the customer.
    await row('list-3').getByRole('link', { name: 'list-bob' }).click();
    await page.getByRole('heading', { name: 'Customer list-bob' }).waitFor();
    expect(page.url()).toBe(`${url}/console/users/list-bob`);
  });

  it("replays one delivery, then all of an event's deliveries, from the event's page; a waiting one has no replay", async () => {
    rig.fake.inject({ type: 'status', status: 400 });
    await post('renewal', { id: 'replay-1', app_user_id: 'replay-user' });
    await deliveryOf('replay-1', 'dead');
    await page.goto(`${url}/console/events/replay-1`);
    const delivery = page.getByRole('region', { name: `Delivery to ${DESTINATION}` });
    await delivery.locator('.badge', { hasText: 'dead' }).waitFor();

    await delivery.getByRole('button', { name: `Replay delivery to ${DESTINATION}` }).click();
    await notice()
      .filter({ hasText: `Replayed 1 delivery to ${DESTINATION}.` })
      .waitFor();
    await delivery.locator('.badge', { hasText: 'delivered' }).waitFor();

    // Delivered can be sent again: "Replay all deliveries" sends it once more.
    await page.getByRole('button', { name: 'Replay all deliveries' }).click();
    await notice().filter({ hasText: 'Replayed 1 delivery of event replay-1.' }).waitFor();
    // Refused once, delivered by the first replay, delivered again by the second: three attempts.
    await delivery.getByText(/^3 attempts/).waitFor();
    await delivery.getByRole('cell', { name: '400', exact: true }).waitFor();
    expect(await delivery.getByRole('row').count()).toBe(4);

    // A delivery on its way (paused) has no replay, and says why.
    await rig.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'console test' });
    try {
      await post('renewal', { id: 'replay-2', app_user_id: 'replay-user' });
      await deliveryOf('replay-2', 'paused');
      await page.goto(`${url}/console/events/replay-2`);
      const waiting = page.getByRole('region', { name: `Delivery to ${DESTINATION}` });
      await waiting.getByText('Paused: it is sent when its destination resumes.').waitFor();
      expect(await waiting.getByRole('button', { name: `Replay delivery to ${DESTINATION}` }).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Replay all deliveries' }).isDisabled()).toBe(true);
    } finally {
      await rig.admin('POST', `/destinations/${DESTINATION}/resume`);
    }
    await deliveryOf('replay-2', 'delivered');
  });

  it('pages dead letters past a page through the address, and replays by filter only after showing the count', async () => {
    // Five dead at once: held while the destination is paused, then refused in one request.
    await rig.admin('POST', `/destinations/${DESTINATION}/pause`, { reason: 'console test' });
    for (let n = 1; n <= 5; n++) await post('renewal', { id: `dead-${n}`, app_user_id: `dead-user-${n}` });
    rig.fake.inject({ type: 'status', status: 400 });
    await rig.admin('POST', `/destinations/${DESTINATION}/resume`);
    const dead = await rig.until('five dead', async () => {
      const found = await deliveriesIn('dead');
      return found.length === 5 && found;
    });

    // Two a page (the page size is in the address too): 2, 2, 1, each page's address reloads as it is.
    await page.goto(`${url}/console/dead?limit=2`);
    const shownOnPage = () => page.locator('tbody tr td:nth-child(2)').allTextContents();
    const pages: string[][] = [];
    await rig.until('the first page', async () => (await shownOnPage()).length === 2);
    pages.push(await shownOnPage());
    await page.getByRole('button', { name: 'Older' }).click();
    await rig.until('the second page', async () => (await shownOnPage()).join() !== pages[0].join() && (await shownOnPage()).length === 2);
    pages.push(await shownOnPage());
    expect(new URL(page.url()).searchParams.get('limit')).toBe('2');
    expect(new URL(page.url()).searchParams.get('before')).toBeTruthy();
    await page.reload();
    await rig.until('the second page after a reload', async () => (await shownOnPage()).join() === pages[1].join());
    await page.getByRole('button', { name: 'Older' }).click();
    await rig.until('the last page', async () => (await shownOnPage()).length === 1);
    pages.push(await shownOnPage());
    expect(await page.getByRole('button', { name: 'Older' }).count()).toBe(0);
    expect(pages.flat().sort()).toEqual(dead.map((d) => d.eventId).sort());
    await page.getByRole('button', { name: 'Newer' }).click();
    await rig.until('back on the second page', async () => (await shownOnPage()).join() === pages[1].join());

    // By filter: the count first; nothing replays until the confirm.
    const filter = page.getByRole('form', { name: 'Replay by filter' });
    await filter.getByLabel('Destination').selectOption(DESTINATION);
    await filter.getByLabel('State').selectOption('dead');
    await filter.getByLabel('Received from').fill(localInput(Date.now() - 3_600_000));
    await filter.getByLabel('Received before').fill(localInput(Date.now() + 3_600_000));
    await filter.getByRole('button', { name: 'Count deliveries' }).click();
    await page.getByText('This replays 5 deliveries.').waitFor();
    expect(await deliveriesIn('dead')).toHaveLength(5);
    await page.getByRole('button', { name: 'Replay 5 deliveries' }).click();
    await notice().filter({ hasText: 'Replayed 5 deliveries.' }).waitFor();
    await rig.until('none dead', async () => (await deliveriesIn('dead')).length === 0);
    await page.goto(`${url}/console/dead?limit=2`);
    await page.getByText('No dead deliveries.').waitFor();
  });

  it('shows a customer: events naming them in time order with deliveries and the state after each, and the state last sent', async () => {
    const customer = 'cust-ana';
    const anonymous = '$RCAnonymousID:ana0001';
    const named = { app_user_id: customer, original_app_user_id: anonymous, aliases: [anonymous, customer] };
    await post('initial_purchase', { ...named, id: 'ana-1', event_timestamp_ms: T0 });
    await deliveryOf('ana-1', 'delivered');
    // Under the anonymous id, naming the customer as an alias.
    await post('renewal', { ...named, app_user_id: anonymous, id: 'ana-2', event_timestamp_ms: T0 + DAY_MS });
    await deliveryOf('ana-2', 'delivered');
    await post('cancellation', { ...named, id: 'ana-3', event_timestamp_ms: T0 + 3 * DAY_MS });
    await deliveryOf('ana-3', 'delivered');
    // Out of order: older than the cancellation already sent, so it goes without state.
    await post('renewal', { ...named, id: 'ana-4', event_timestamp_ms: T0 + 2 * DAY_MS });
    await deliveryOf('ana-4', 'delivered');
    // A transfer away from the customer names them too, and carries no state.
    await post('transfer', {
      id: 'ana-5',
      event_timestamp_ms: T0 + 4 * DAY_MS,
      transferred_from: [customer],
      transferred_to: ['cust-bea'],
    });
    await deliveryOf('ana-5', 'skipped');

    // Found from the events page's customer search.
    await rig.navigate('Events');
    await page.getByLabel('Customer (app user id or its start)').fill(customer);
    await page.getByRole('button', { name: 'Show customer' }).click();
    await page.getByRole('heading', { name: `Customer ${customer}` }).waitFor();
    expect(page.url()).toBe(`${url}/console/users/${customer}`);

    const entries = page.locator('section.user-event');
    await rig.until('five events', async () => (await entries.count()) === 5);
    expect(await entries.evaluateAll((sections) => sections.map((s) => s.getAttribute('aria-label')))).toEqual(
      ['ana-1', 'ana-2', 'ana-4', 'ana-3', 'ana-5'].map((id) => `Event ${id}`),
    );
    const stateAfter = async (id: string) =>
      (
        await page
          .getByRole('region', { name: `Event ${id}` })
          .locator('.state-after')
          .textContent()
      )
        ?.replace(/\s+/g, ' ')
        .trim();
    expect(await stateAfter('ana-1')).toBe('State after: active changed by this event');
    expect(await stateAfter('ana-2')).toBe('State after: active changed by this event');
    expect(await stateAfter('ana-4')).toBe('State after: active changed by this event');
    expect(await stateAfter('ana-3')).toBe('State after: cancelled changed by this event');
    expect(await stateAfter('ana-5')).toBe('State after: cancelled (unchanged)');
    expect(await page.locator('section.changes-state').count()).toBe(4);
    // The alias's event names its own user, a link to them.
    await page.getByRole('region', { name: 'Event ana-2' }).getByRole('link', { name: anonymous }).waitFor();
    await page.getByRole('region', { name: 'Event ana-5' }).getByText(`${DESTINATION} skipped`).waitFor();

    // What the ordering rule let through: the cancellation, not the older renewal that came after it.
    const sent = page.getByRole('region', { name: `State sent to ${DESTINATION}` });
    const mark = sent.getByRole('row', { name: /ana-3/ });
    await mark.getByText('cancelled').waitFor();
    expect(await sent.getByRole('row', { name: /ana-4/ }).count()).toBe(0);

    // A replay from the customer page.
    await page.getByRole('button', { name: `Replay delivery of ana-1 to ${DESTINATION}` }).click();
    await notice()
      .filter({ hasText: `Replayed 1 delivery of ana-1 to ${DESTINATION}.` })
      .waitFor();

    // A prefix from the same search lists the events of every user starting with it.
    await page.getByLabel('Customer (app user id or its start)').fill('cust-');
    await page.getByRole('button', { name: 'Users starting with it' }).click();
    await page.waitForURL(`${url}/console/events?userPrefix=cust-`);
    await page.getByRole('link', { name: 'ana-3' }).waitFor();
    // An unknown customer says so.
    await rig.expectingRefusal(404, async () => {
      await page.goto(`${url}/console/users/nobody-here`);
      await page.getByText('No event names nobody-here.').waitFor();
    });
  });

  it('charts the webhooks just posted, deliveries and the backlog per minute, readable by pointer and keyboard', async () => {
    const postedFromMs = Date.now();
    await post('renewal', { id: 'chart-1', app_user_id: 'chart-user' });
    const postedToMs = Date.now();
    await rig.navigate('Overview');
    const flow = page.getByRole('img', { name: 'Webhooks and deliveries per minute' });
    await flow.waitFor();
    const figure = page.locator('figure.chart').filter({ has: flow });
    // Every webhook of this suite was received within the last hour.
    await figure.getByText(new RegExp(`Last hour: ${posted} received`)).waitFor();
    expect(await figure.locator('.chart-legend li').allTextContents()).toEqual(['Webhooks received', 'Delivered', 'Failed']);
    // 24 hours of minutes, one path a series, the received line off the baseline somewhere.
    const received = flow.locator('path[data-series="received"]');
    const points = (await received.getAttribute('d'))!.match(/[ML]/g)!.length;
    expect(points).toBe(24 * 60);
    const ys = (await received.getAttribute('d'))!.match(/[ML][\d.]+ ([\d.]+)/g)!.map((point) => Number(point.split(' ')[1]));
    expect(Math.min(...ys)).toBeLessThan(Math.max(...ys));
    const hourLabels = (await flow.locator('text').allTextContents()).filter((text) => /^\d\d:00$/.test(text));
    expect(hourLabels.length).toBeGreaterThanOrEqual(4);

    // The readout shows the latest minute; the keyboard walks back to the minute the webhook was posted in,
    // which counts it (the minute before too, if the post straddled a minute's end).
    const readout = figure.locator('.chart-readout');
    await readout.filter({ hasText: /^Latest minute, \d\d:\d\d: Webhooks received \d+, Delivered \d+, Failed \d+$/ }).waitFor();
    // The pointer at the left end reads the first minute, 24 hours ago (1,439 minutes before the latest).
    const box = (await flow.boundingBox())!;
    await page.mouse.move(box.x + 2, box.y + box.height / 2);
    await readout.filter({ hasText: new RegExp(`^${localInput(Date.now() - 1_439 * 60_000).slice(-5)}: Webhooks received 0,`) }).waitFor();
    await page.mouse.move(0, 0);
    await flow.focus();
    await page.keyboard.press('End');
    const receivedAt = async (ms: number) => {
      const minute = localInput(ms).slice(-5);
      for (let back = 0; back < 5 && !(await readout.textContent())!.startsWith(`${minute}:`); back++)
        await page.keyboard.press('ArrowLeft');
      const shown = /^(\d\d:\d\d): Webhooks received (\d+),/.exec((await readout.textContent())!);
      expect(shown?.[1]).toBe(minute);
      return Number(shown![2]);
    };
    const inPostMinutes =
      (await receivedAt(postedToMs)) + (localInput(postedFromMs) === localInput(postedToMs) ? 0 : await receivedAt(postedFromMs));
    expect(inPostMinutes).toBeGreaterThanOrEqual(1);

    const backlog = page.locator('figure.chart').filter({ has: page.getByRole('img', { name: 'Pending backlog' }) });
    await backlog.getByText(/Latest: \d+ waiting/).waitFor();
    expect(await page.getByRole('img', { name: 'Pending backlog' }).locator('path[data-series="backlog"]').count()).toBe(1);
  });
});
