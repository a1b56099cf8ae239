import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { FixtureName } from '@ferry/testkit';
import { webhookBody } from '@ferry/testkit';
import { AMPLITUDE_DESTINATION, DESTINATION, haveChromium, CHROMIUM, startConsoleRig, type ConsoleRig } from './rig';

/**
 * The README's console screenshots (`npm run docs:screenshots [-- FOLDER]`, docs/console by default): a real
 * runner with CleverTap and Amplitude behind it, a store seeded as an operator would find it after a while,
 * and each page at laptop width, some also at a phone's. Not part of `npm test`: run it when the look changes.
 */

const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 740 };

/** A RevenueCat-looking event id, the same on every run so the pictures change only when the console does. */
const eventId = (name: string) => {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/** Who did what, in order: the customers an operator would look up. */
const HISTORY: readonly (readonly [user: string, kind: FixtureName])[] = [
  ['alice.martin', 'initial_purchase'],
  ['bruno.silva', 'trial_started'],
  ['chen.wei', 'sandbox_initial_purchase'],
  ['dana.okafor', 'initial_purchase'],
  ['alice.martin', 'renewal'],
  ['bruno.silva', 'trial_converted'],
  ['chen.wei', 'billing_issue'],
  ['emil.larsen', 'intro_offer'],
  ['bruno.silva', 'product_change'],
  ['alice.martin', 'renewal'],
  ['chen.wei', 'expiration'],
  ['emil.larsen', 'refund'],
  ['alice.martin', 'cancellation'],
  ['alice.martin', 'uncancellation'],
];
/** The event whose page is shown. */
const SHOWN_EVENT = eventId('alice.martin initial_purchase 0');
/** CleverTap refuses these for good (HTTP 400): they end under dead letters. */
const DEAD: readonly (readonly [user: string, kind: FixtureName])[] = [
  ['farah.haddad', 'renewal'],
  ['farah.haddad', 'billing_issue'],
];
/** Arrive while Amplitude is paused by an operator, and go once it is resumed. */
const WHILE_PAUSED: readonly (readonly [user: string, kind: FixtureName])[] = [
  ['gus.moreau', 'initial_purchase'],
  ['emil.larsen', 'renewal'],
];

interface Shot {
  /** The file, without `.png`; the phone's gets `-phone`. */
  readonly name: string;
  /** Opens the page from the one before, as an operator would: through the menu and links. */
  open(rig: ConsoleRig): Promise<void>;
  /** Also at a phone's width. */
  readonly phone?: boolean;
}

/** Every page of the console, in the README's order. */
const SHOTS: readonly Shot[] = [
  { name: 'overview', open: (rig) => openPage(rig, 'Overview', 'cell', DESTINATION), phone: true },
  { name: 'events', open: (rig) => openPage(rig, 'Events', 'link', SHOWN_EVENT), phone: true },
  {
    name: 'event',
    async open(rig) {
      await openPage(rig, 'Events', 'link', SHOWN_EVENT);
      await rig.page.getByRole('link', { name: SHOWN_EVENT }).click();
      await rig.page.locator('figure.request').first().waitFor();
    },
    phone: true,
  },
  { name: 'dead-letters', open: (rig) => openPage(rig, 'Dead letters', 'cell', 'HTTP 400', false) },
  { name: 'destinations', open: (rig) => openPage(rig, 'Destinations', 'button', 'Check connection', false) },
  {
    name: 'preview',
    async open(rig) {
      await openPage(rig, 'Preview', 'button', 'Preview');
      const webhook = JSON.parse(webhookBody('trial_converted', customer('bruno.silva', 'bruno.silva trial_converted preview'))) as unknown;
      const field = rig.page.getByLabel('Webhook (JSON, as its source posts it)');
      await field.fill(JSON.stringify(webhook, null, 2));
      await rig.page.getByRole('button', { name: 'Preview' }).click();
      await rig.page.locator('figure.request').first().waitFor();
      // Filling leaves the field scrolled to the end; an operator's pasted webhook reads from the top.
      await field.evaluate((textarea) => (textarea.scrollTop = 0));
    },
  },
  { name: 'erasures', open: (rig) => openPage(rig, 'Erasures', 'cell', AMPLITUDE_DESTINATION) },
  {
    name: 'customer',
    async open(rig) {
      await openPage(rig, 'Events', 'link', SHOWN_EVENT);
      await rig.page
        .getByRole('row', { name: new RegExp(SHOWN_EVENT) })
        .getByRole('link', { name: 'alice.martin' })
        .click();
      await rig.page.locator('section.user-event').first().waitFor();
    },
    phone: true,
  },
];

async function openPage(rig: ConsoleRig, link: string, role: 'cell' | 'link' | 'button', name: string, exact = true): Promise<void> {
  await rig.navigate(link);
  await rig.page.getByRole('heading', { name: link, exact: true }).waitFor();
  await rig.page.getByRole(role, { name, exact }).first().waitFor();
}

/** The fields that make a fixture this customer's event. */
const customer = (user: string, idSeed: string) => ({
  id: eventId(idSeed),
  app_user_id: user,
  original_app_user_id: user,
  aliases: [user],
  event_timestamp_ms: Date.now(),
});

async function post(rig: ConsoleRig, events: readonly (readonly [string, FixtureName])[], label: string): Promise<void> {
  const seen = new Map<string, number>();
  for (const [user, kind] of events) {
    const nth = seen.get(`${user} ${kind}`) ?? 0;
    seen.set(`${user} ${kind}`, nth + 1);
    await rig.postWebhook(webhookBody(kind, customer(user, `${user} ${kind}${label}${nth}`)));
  }
}

interface Destinations {
  destinations: { id: string; state: string; deliveries: Record<string, number> }[];
}

/** Until no delivery is waiting or on its way. */
const settled = (rig: ConsoleRig) =>
  rig.until('every delivery to settle', async () => {
    const { destinations } = await rig.admin<Destinations>('GET', '/destinations');
    return destinations.every((d) => d.deliveries.pending + d.deliveries.in_flight + d.deliveries.paused === 0);
  });

/**
 * The day before the seeded minutes, written straight into the store's per-minute counts (a picture of the
 * charts needs a day of traffic, which the rig cannot send in a few seconds): a daily wave of webhooks, two
 * deliveries each, and an hour-long outage at CleverTap, 14 to 13 hours ago, that fails attempts and builds a
 * backlog which drains once it ends. Made up, and the same on every run.
 */
function seedPastDay(rig: ConsoleRig): void {
  const minute = 60_000;
  const now = Math.floor(Date.now() / minute) * minute;
  const db = new BetterSqlite3(path.join(rig.dir, 'ferry.db'));
  db.pragma('busy_timeout = 5000');
  const upsert = db.prepare(
    'insert into activity_minutes (minute_ms, series, value) values (?, ?, ?) on conflict (minute_ms, series) do update set value = excluded.value',
  );
  let backlog = 0;
  db.transaction(() => {
    for (let ago = 24 * 60; ago > 10; ago--) {
      const at = now - ago * minute;
      const received = Math.round(30 + 22 * Math.sin((2 * Math.PI * (ago + 300)) / (24 * 60)) + ((ago * 7919) % 5));
      const outage = ago <= 14 * 60 && ago > 13 * 60;
      const failed = outage ? received : (ago * 104_729) % 97 === 0 ? 3 : 0;
      // During the outage only Amplitude takes them; afterwards CleverTap catches up at 60 a minute.
      const drained = outage ? 0 : Math.min(backlog, 60);
      backlog = outage ? backlog + received : backlog - drained;
      const delivered = outage ? received : received * 2 + drained;
      upsert.run(at, 'received', received);
      upsert.run(at, 'delivered', delivered);
      upsert.run(at, 'failed', failed);
      upsert.run(at, 'backlog', backlog + ((ago * 31) % 4));
    }
  })();
  db.close();
}

async function seed(rig: ConsoleRig): Promise<void> {
  seedPastDay(rig);
  await post(rig, HISTORY, ' ');
  await settled(rig);

  for (const dead of DEAD) {
    rig.fake.inject({ type: 'status', status: 400 });
    await post(rig, [dead], ' dead ');
    await settled(rig);
  }

  await rig.admin('POST', `/destinations/${AMPLITUDE_DESTINATION}/pause`, { reason: 'rotating the API key' });
  await post(rig, WHILE_PAUSED, ' paused ');
  await rig.until('the deliveries to wait paused', async () => {
    const { destinations } = await rig.admin<Destinations>('GET', '/destinations');
    return destinations.find((d) => d.id === AMPLITUDE_DESTINATION)?.deliveries.paused === WHILE_PAUSED.length;
  });
  await rig.admin('POST', `/destinations/${AMPLITUDE_DESTINATION}/resume`);
  await settled(rig);

  // A privacy request, at the destinations too: Amplitude's plugin erases, so it gets a job.
  await rig.admin('POST', '/erase', { appUserId: 'dana.okafor', destinations: true });
  await rig.until('the erasure at Amplitude to be done', async () => {
    const { jobs } = await rig.admin<{ jobs: { state: string }[] }>('GET', '/erasures');
    return jobs.length > 0 && jobs.every((job) => job.state === 'done');
  });
}

async function main(): Promise<void> {
  if (!haveChromium) throw new Error(`the screenshots need ${CHROMIUM} (apt-get install chromium)`);
  const folder = path.resolve(process.argv[2] ?? path.join(__dirname, '../../../docs/console'));
  await mkdir(folder, { recursive: true });
  const rig = await startConsoleRig({ viewport: LAPTOP, amplitude: true });
  try {
    await seed(rig);
    await rig.signIn();
    for (const [viewport, suffix] of [
      [LAPTOP, ''],
      [PHONE, '-phone'],
    ] as const) {
      await rig.page.setViewportSize(viewport);
      for (const shot of SHOTS) {
        if (suffix !== '' && !shot.phone) continue;
        await shot.open(rig);
        // Focus rings and a hovered link are not part of the page's look.
        await rig.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        await rig.page.mouse.move(0, 0);
        await rig.page.screenshot({ path: path.join(folder, `${shot.name}${suffix}.png`) });
      }
    }
    // The phone's header, folded open.
    await rig.page.getByRole('button', { name: 'Menu' }).click();
    await rig.page.screenshot({ path: path.join(folder, 'menu-phone.png') });
    const problems = rig.takeProblems();
    if (problems.length > 0) throw new Error(`the console reported problems:\n${problems.join('\n')}`);
    console.log(`screenshots written to ${folder}`);
  } finally {
    await rig.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
