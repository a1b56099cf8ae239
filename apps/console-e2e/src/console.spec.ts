import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { webhookBody } from '@ferry/testkit';
import { ADMIN_TOKEN, DESTINATION, haveChromium, CHROMIUM, PASSCODE, startConsoleRig, type ConsoleRig } from './rig';

// The operator's walkthrough in a real browser (Debian's chromium) against the built runner, as `npm start` runs it.

// A machine without Chromium skips the suite, saying so; CI must run it.
if (!haveChromium && process.env.CI === 'true') {
  test('the console browser suite runs under CI', () => {
    throw new Error(`the console browser suite needs ${CHROMIUM} under CI=true (.ci/run installs Debian's chromium)`);
  });
} else if (!haveChromium) {
  console.warn(`console browser suite skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
}

let rig: ConsoleRig;
let url: string;
let page: Page;
/** As an operator pastes it from RevenueCat's dashboard. */
const pretty = (body: string) => JSON.stringify(JSON.parse(body), null, 2);
const notice = () => page.locator('#notice');

beforeAll(async () => {
  if (!haveChromium) return;
  rig = await startConsoleRig();
  url = rig.url;
  page = rig.page;
  for (const [name, id] of [
    ['initial_purchase', 'evt-initial-1'],
    ['trial_started', 'evt-trial-1'],
    ['renewal', 'evt-renewal-1'],
    ['cancellation', 'evt-cancel-1'],
    ['transfer', 'evt-transfer-1'],
  ] as const) {
    await rig.postWebhook(webhookBody(name, { id }));
  }
});

afterAll(async () => {
  await rig?.close();
});

afterEach(() => {
  // Checked after every step, so the failing step is the one that caused it.
  if (rig) expect(rig.takeProblems()).toEqual([]);
});

(haveChromium ? describe : describe.skip)('the operator console', () => {
  it('refuses a wrong token with a visible message', async () => {
    await page.goto(`${url}/console`);
    await rig.expectingRefusal(401, async () => {
      await page.getByLabel('Admin token').fill('not-the-admin-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await notice().filter({ hasText: 'refused the admin token' }).waitFor();
    });
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('signs in with the token, which stays out of the address and the page', async () => {
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByLabel('Admin token').press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('cell', { name: DESTINATION }).waitFor();
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(await page.content()).not.toContain(ADMIN_TOKEN);
  });

  it('shows a new webhook without a reload, then the event delivered with the request sent', async () => {
    await rig.navigate('Events');
    await page.getByRole('link', { name: 'evt-initial-1' }).waitFor();
    // A reload would lose this mark.
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    await rig.postWebhook(webhookBody('renewal', { id: 'evt-arrives-live' }));
    await page.getByRole('link', { name: 'evt-arrives-live' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);

    await page.getByRole('link', { name: 'evt-arrives-live' }).click();
    const delivery = page.getByRole('region', { name: `Delivery to ${DESTINATION}` });
    await delivery.locator('.badge', { hasText: 'delivered' }).waitFor();
    await delivery.getByRole('cell', { name: '200' }).first().waitFor();
    const request = delivery.locator('figure.request');
    await request.filter({ hasText: 'rc_renewal_event' }).waitFor();
    expect(await request.textContent()).toContain(`POST ${rig.fake.url}`);
    expect(await page.content()).not.toContain(PASSCODE);
  });

  it("shows each event's source, filters events by source, and lists the sources with their counts on the overview", async () => {
    await rig.navigate('Events');
    const row = page.getByRole('row', { name: /evt-initial-1/ });
    await row.waitFor();
    expect(await page.getByRole('columnheader').allTextContents()).toEqual([
      'Received',
      'Event',
      'Deliveries',
      'User',
      'Kind',
      'Product',
      'Type',
      'Source',
      'Environment',
    ]);
    expect(await row.getByRole('cell').nth(7).textContent()).toBe('revenuecat');

    // The filter offers the configured sources (from GET /admin/sources) and keeps a chosen one no source has.
    // A select's name is its label's text and its chosen option's ("Source Any").
    const sourceFilter = () => page.getByRole('combobox', { name: /^Source/ });
    const filter = sourceFilter();
    await filter.locator('option[value="revenuecat"]').waitFor({ state: 'attached' });
    await filter.selectOption('revenuecat');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: 'evt-initial-1' }).waitFor();
    await page.goto(`${url}/console/events?source=elsewhere`);
    await page.getByText('No events match.').waitFor();
    expect(await sourceFilter().inputValue()).toBe('elsewhere');
    expect(await sourceFilter().locator('option').allTextContents()).toEqual(['Any', 'revenuecat', 'elsewhere']);

    await rig.navigate('Overview');
    const sources = page.getByRole('region', { name: 'Sources' });
    const source = sources.getByRole('row', { name: /\/webhooks\/revenuecat/ });
    await source.waitFor();
    // Six webhooks were posted so far. Duplicates and rejected come from the runner's own webhook counts.
    expect((await source.getByRole('cell').allTextContents()).slice(0, 4)).toEqual([
      'revenuecat',
      'revenuecat',
      '/webhooks/revenuecat',
      '6',
    ]);
    await source.getByRole('link', { name: 'revenuecat' }).click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    expect(page.url()).toBe(`${url}/console/events?source=revenuecat`);
    expect(await sourceFilter().inputValue()).toBe('revenuecat');
    await page.getByRole('link', { name: 'evt-arrives-live' }).waitFor();
  });

  it('finds a dead delivery under dead letters and replays it once CleverTap recovers', async () => {
    rig.fake.inject({ type: 'status', status: 400 });
    await rig.postWebhook(webhookBody('renewal', { id: 'evt-dies' }));
    await rig.navigate('Dead letters');
    const select = page.getByLabel(`Select delivery of evt-dies to ${DESTINATION}`);
    await select.waitFor();
    await page
      .getByRole('row', { name: /evt-dies/ })
      .getByText('HTTP 400')
      .waitFor();

    await select.check();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await notice().filter({ hasText: 'Replayed 1 delivery' }).waitFor();
    await page.getByText('No dead deliveries.').waitFor();

    await page.goto(`${url}/console/events/evt-dies`);
    const delivery = page.getByRole('region', { name: `Delivery to ${DESTINATION}` });
    await delivery.locator('.badge', { hasText: 'delivered' }).waitFor();
    await delivery.getByRole('cell', { name: '400', exact: true }).waitFor();
  });

  it('previews a pasted webhook: the exact request, and why a destination skips', async () => {
    await rig.navigate('Preview');
    // The configured sources, each parsing with its own plugin; the first is chosen.
    const source = page.getByRole('form', { name: 'Preview a webhook' }).getByRole('combobox');
    await source.locator('option', { hasText: 'revenuecat (revenuecat)' }).waitFor({ state: 'attached' });
    expect(await source.inputValue()).toBe('revenuecat');
    await page.getByLabel('Webhook (JSON, as its source posts it)').fill(pretty(webhookBody('initial_purchase', { id: 'evt-preview' })));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('figure.request', { hasText: 'rc_initial_purchase_event' }).waitFor();

    await page.getByLabel('Webhook (JSON, as its source posts it)').fill(webhookBody('transfer', { id: 'evt-preview-skip' }));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByText(/^Skips it:/).waitFor();
    await rig.expectingRefusal(400, async () => {
      await page.getByLabel('Webhook (JSON, as its source posts it)').fill('{"event": {}}');
      await page.getByRole('button', { name: 'Preview' }).click();
      await notice().filter({ hasText: 'invalid webhook' }).waitFor();
    });
  });

  it("checks a destination's connection and shows the runner's verdict, naming no secret", async () => {
    await rig.navigate('Destinations');
    const destination = page.getByRole('region', { name: DESTINATION });
    // What the admin API answers for it (the plugin decides: ok, refused, not supported, could not tell); the button shows it.
    const verdict = await rig.admin<{ ok: boolean | null; reason: string }>('GET', `/destinations/${DESTINATION}/check`);
    const label =
      verdict.ok === true
        ? 'ok'
        : verdict.ok === false
          ? 'refused'
          : verdict.reason === 'not supported'
            ? 'not supported'
            : 'could not tell';
    await destination.getByRole('button', { name: 'Check connection' }).click();
    await destination
      .getByRole('status')
      .filter({ hasText: `Connection: ${label} — ` })
      .waitFor();
    expect(await destination.getByRole('button', { name: 'Check connection' }).isEnabled()).toBe(true);
    expect(await page.content()).not.toContain(PASSCODE);
  });

  it('pauses and resumes a destination', async () => {
    await rig.navigate('Destinations');
    const destination = page.getByRole('region', { name: DESTINATION });
    await destination.getByRole('button', { name: 'Pause' }).waitFor();
    await destination.getByRole('button', { name: 'Pause' }).click();
    await destination.getByRole('button', { name: 'Resume' }).waitFor();
    await destination.getByText('paused by an operator').waitFor();
    await destination.getByRole('button', { name: 'Resume' }).click();
    await destination.getByRole('button', { name: 'Pause' }).waitFor();
  });

  it("lists erasures at the destinations with the user's ids masked, and retries a dead one", async () => {
    // Jobs as a runner leaves them (written into its store, since no plugin of this build erases yet): one dead, one done.
    const db = new BetterSqlite3(path.join(rig.dir, 'ferry.db'));
    const insert = db.prepare(`insert into erasure_jobs (id, destination_id, state, subject, identity_count, attempts, next_step, steps,
      next_attempt_at_ms, last_answer, window_start_ms, owner, lease_until_ms, created_at_ms, updated_at_ms)
      values (?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, null, null, ?, ?)`);
    const now = Date.now();
    const subject = JSON.stringify({ appUserIds: ['erased-user-0001', 'erased-alias-77'], identities: [{ objectId: 'ct-erased-42' }] });
    insert.run('erasure-dead', DESTINATION, 'dead', subject, 3, 10, 0, 1, 'HTTP 503: {"error":"busy"}', now, now - 60_000, now);
    insert.run('erasure-done', DESTINATION, 'done', null, 3, 1, 1, 1, 'done: HTTP 200', now, now - 120_000, now);
    db.close();

    await rig.navigate('Erasures');
    const dead = page.getByRole('row', { name: /dead/ });
    await dead.getByText('3: e…1, e…7, c…2').waitFor();
    await dead.getByText('HTTP 503').waitFor();
    await page.getByRole('row', { name: /done/ }).getByText('done: HTTP 200').waitFor();
    const shown = await page.locator('main').innerText();
    for (const id of ['erased-user-0001', 'erased-alias-77', 'ct-erased-42']) expect(shown).not.toContain(id);

    await dead.getByRole('button', { name: `Retry erasure at ${DESTINATION}` }).click();
    await notice()
      .filter({ hasText: `Erasure at ${DESTINATION} is pending again.` })
      .waitFor();
  });
});
