import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoggedRequest } from '@ferry/testkit';
import { webhookOutcomeFor } from './metrics';
import { ADMIN_TOKEN, WEBHOOK_AUTHORIZATION, clevertapDestination, send, testConfig, waitFor } from './testing/harness';
import { MAIN, childProcessBed, postWebhookTo, probeOf, probeWebhook } from './testing/processes';

/**
 * README promises about crashes, signals, restarts and metrics, each checked on the built runner in a child
 * process. Where a promise is "at once", the test makes the slow path take an hour, so only the promised one
 * can pass within the test's time; no test measures a duration.
 */
const bed = childProcessBed();

/** A lease that outlasts every test, and a request timeout under it (the config requires that). */
const HOUR_LONG_LEASE = { delivery: { leaseMs: 3_600_000 } };
const SLOW_REQUESTS = { timeoutMs: 600_000 };
const SHUTTING_DOWN = 'shutting down: refusing webhooks, finishing in-flight deliveries';

async function writeConfig(config: unknown): Promise<string> {
  const file = path.join(bed.dir.path, 'ferry.config.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

const hangs = (n: number) => bed.fake.inject(...Array.from({ length: n }, () => ({ type: 'hang' as const })));

/** The webhook ids (see probeWebhook) in a logged upload request. */
const probesIn = (request: LoggedRequest): unknown[] =>
  ((request.body as { d?: unknown[] } | undefined)?.d ?? []).map((record) => probeOf(record));

async function deliveryOf(url: string, eventId: string) {
  const answer = await send('GET', `${url}/admin/events/${eventId}`, undefined, { authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(answer.status).toBe(200);
  return answer.json.deliveries[0];
}

describe('after a crash', () => {
  it('resumes at once what was in flight, long before its lease would expire', async () => {
    const config = await writeConfig(
      testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake, {}, SLOW_REQUESTS)], ...HOUR_LONG_LEASE }),
    );
    hangs(20);
    const first = bed.run(MAIN, '--config', config);
    const url = await first.url();
    const ids = ['crash-0', 'crash-1', 'crash-2'];
    for (const id of ids) expect((await postWebhookTo(url, probeWebhook(id))).status).toBe(200);
    await waitFor('a delivery in flight at CleverTap', () => bed.fake.requests().some((request) => request.fault === 'hang'));
    const inFlight = (await deliveryOf(url, 'crash-0')).state;
    first.kill('SIGKILL');
    await first.exited;
    bed.fake.reset();

    const second = bed.run(MAIN, '--config', config);
    await second.url();
    await waitFor('every event at CleverTap after the restart', () => {
      const arrived = new Set(bed.fake.records().map((stored) => probeOf(stored.record)));
      return ids.every((id) => arrived.has(id));
    });
    expect(inFlight).toBe('in_flight');
    expect(second.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^resuming [1-3] deliveries that were in flight when the runner stopped$/)]),
    );
  });

  it('sets aside a delivery in flight at every crash: dead after 3 crashes in a row, with the reason, and not sent again', async () => {
    const config = await writeConfig(
      testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake, {}, SLOW_REQUESTS)], ...HOUR_LONG_LEASE }),
    );
    // A webhook that stops the runner each time it is sent (here: killed while it hangs at CleverTap).
    for (let crash = 1; crash <= 3; crash += 1) {
      bed.fake.reset();
      hangs(20);
      const runner = bed.run(MAIN, '--config', config);
      const url = await runner.url();
      if (crash === 1) expect((await postWebhookTo(url, probeWebhook('poison'))).status).toBe(200);
      await waitFor(`the poison in flight at crash ${crash}`, () => bed.fake.requests().some((request) => request.fault === 'hang'));
      runner.kill('SIGKILL');
      await runner.exited;
    }
    bed.fake.reset();

    const last = bed.run(MAIN, '--config', config);
    const url = await last.url();
    expect(await deliveryOf(url, 'poison')).toMatchObject({
      state: 'dead',
      attempts: 3,
      lastError: 'interrupted: the runner holding it stopped 3 times while sending it',
    });
    expect((await postWebhookTo(url, probeWebhook('healthy'))).status).toBe(200);
    await waitFor('the next event at CleverTap', () => bed.fake.records().some((stored) => probeOf(stored.record) === 'healthy'));
    expect(bed.fake.requests().flatMap(probesIn)).not.toContain('poison');
  });

  it('keeps retry times: a delivery told to come back in an hour is not sent again at restart', async () => {
    const config = await writeConfig(testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake)] }));
    bed.fake.inject({ type: 'status', status: 503, headers: { 'retry-after': '3600' } });
    const first = bed.run(MAIN, '--config', config);
    const firstUrl = await first.url();
    expect((await postWebhookTo(firstUrl, probeWebhook('later'))).status).toBe(200);
    const before = await waitFor('the 503 to be written', async () => {
      const delivery = await deliveryOf(firstUrl, 'later');
      return delivery.attempts === 1 && delivery;
    });
    first.kill('SIGKILL');
    await first.exited;

    const second = bed.run(MAIN, '--config', config);
    const url = await second.url();
    // The restarted runner sends this one at once; "later", were it due, would go first or with it.
    expect((await postWebhookTo(url, probeWebhook('now'))).status).toBe(200);
    await waitFor('the new event at CleverTap', () => bed.fake.records().some((stored) => probeOf(stored.record) === 'now'));

    expect(
      bed.fake
        .requests()
        .flatMap(probesIn)
        .filter((probe) => probe === 'later'),
    ).toEqual(['later']);
    expect(await deliveryOf(url, 'later')).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAtMs: before.nextAttemptAtMs });
    expect(before.nextAttemptAtMs).toBeGreaterThan(Date.now() + 30 * 60_000);
  });
});

describe('on signals', () => {
  it('a second signal ends it at once, without waiting for the deliveries in flight', async () => {
    const config = await writeConfig(
      testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake, {}, SLOW_REQUESTS)], ...HOUR_LONG_LEASE }),
    );
    hangs(5);
    const child = bed.run(MAIN, '--config', config);
    const url = await child.url();
    expect((await postWebhookTo(url, probeWebhook('held'))).status).toBe(200);
    await waitFor('a delivery in flight at CleverTap', () => bed.fake.requests().some((request) => request.fault === 'hang'));

    child.kill('SIGTERM');
    await waitFor('the graceful stop to begin', () => child.lines.some((line) => line.msg === SHUTTING_DOWN));
    expect(child.alive).toBe(true); // the first signal waits for the request CleverTap holds
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('SIGTERM causes no duplicate: after a restart every event has reached CleverTap exactly once', async () => {
    await bed.replaceFake({ latencyMs: 500 });
    const config = await writeConfig(
      testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake, {}, { timeoutMs: 10_000 })] }),
    );
    const ids = Array.from({ length: 10 }, (_, i) => `once-${i}`);
    const first = bed.run(MAIN, '--config', config);
    const firstUrl = await first.url();
    for (const id of ids) expect((await postWebhookTo(firstUrl, probeWebhook(id))).status).toBe(200);
    await waitFor('a request in flight at CleverTap', () => bed.fake.requests().some((request) => request.status === null));
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const second = bed.run(MAIN, '--config', config);
    await second.url();
    await waitFor('every event at CleverTap', () => {
      const arrived = new Set(bed.fake.records().map((stored) => probeOf(stored.record)));
      return ids.every((id) => arrived.has(id));
    });
    // Counted, not deduplicated: a record sent twice shows up here.
    expect(
      bed.fake
        .records()
        .map((stored) => probeOf(stored.record))
        .sort(),
    ).toEqual([...ids].sort());
  });
});

describe('ferry_webhooks_total', () => {
  it('counts each outcome under its own label', async () => {
    const config = await writeConfig(
      testConfig(bed.dir.path, {
        server: { bodyLimitBytes: 2_048 },
        destinations: [clevertapDestination(bed.fake, {}, SLOW_REQUESTS)],
        ...HOUR_LONG_LEASE,
      }),
    );
    hangs(5);
    const child = bed.run(MAIN, '--config', config);
    const url = await child.url();
    const post = (body: string, headers: Record<string, string>) => send('POST', `${url}/webhooks/revenuecat`, body, headers);
    const json = { 'content-type': 'application/json' };

    expect((await postWebhookTo(url, probeWebhook('counted'))).status).toBe(200);
    expect((await postWebhookTo(url, probeWebhook('counted'))).json).toMatchObject({ status: 'duplicate' });
    expect((await postWebhookTo(url, '{"api_version": "1.0", "event": ')).status).toBe(400);
    expect((await post(probeWebhook('no-auth'), json)).status).toBe(401);
    expect((await postWebhookTo(url, probeWebhook('x'.repeat(4_096)))).status).toBe(413);
    expect((await post(probeWebhook('text'), { 'content-type': 'text/plain', authorization: WEBHOOK_AUTHORIZATION })).status).toBe(415);
    // While it finishes the delivery CleverTap holds, it refuses webhooks but still answers /metrics.
    await waitFor('a delivery in flight at CleverTap', () => bed.fake.requests().some((request) => request.fault === 'hang'));
    child.kill('SIGTERM');
    await waitFor('the graceful stop to begin', () => child.lines.some((line) => line.msg === SHUTTING_DOWN));
    expect((await postWebhookTo(url, probeWebhook('late'))).status).toBe(503);

    const metrics = (await send('GET', `${url}/metrics`)).text;
    const counted = Object.fromEntries(
      [...metrics.matchAll(/^ferry_webhooks_total\{source="revenuecat",outcome="(\w+)"\} (\d+)$/gm)].map(([, outcome, count]) => [
        outcome,
        Number(count),
      ]),
    );
    expect(counted).toEqual({
      stored: 1,
      duplicate: 1,
      invalid: 1,
      unauthorized: 1,
      too_large: 1,
      unsupported_media_type: 1,
      unavailable: 1,
    });
  });

  it('counts a path naming no source as "unknown_source", and any other refusal as "other"', () => {
    expect(webhookOutcomeFor(404)).toBe('unknown_source');
    // No request reaches the webhook route with another status today; a future one must still be counted.
    expect([405, 408, 429, 500].map(webhookOutcomeFor)).toEqual(['other', 'other', 'other', 'other']);
  });
});
