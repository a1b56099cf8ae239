import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openStore } from '@ferry/store';
import { webhookBody } from '@ferry/testkit';
import { locateConfig, readConfigFile, type ConfigInput } from './config';
import { PASSCODE, SECRETS, startTestRunner, clevertapDestination, send, testConfig, waitFor } from './testing/harness';
import { CLI, MAIN, childProcessBed, postWebhookTo, probeOf, probeWebhook } from './testing/processes';

const bed = childProcessBed();

async function writeConfig(config: unknown, name = 'ferry.config.json'): Promise<string> {
  const file = path.join(bed.dir.path, name);
  await writeFile(file, JSON.stringify(config));
  return file;
}

describe('the runner process', () => {
  it('killed with SIGKILL under load and restarted, loses no event that got a 200', async () => {
    const config = await writeConfig(testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake)], log: { level: 'info' } }));
    const first = bed.run(MAIN, '--config', config);
    const url = await first.url();

    const acknowledged: string[] = [];
    let killed = false;
    const worker = async (name: number) => {
      for (let i = 0; !killed; i++) {
        const id = `load-${name}-${i}`;
        try {
          if ((await postWebhookTo(url, probeWebhook(id))).status === 200) acknowledged.push(id);
        } catch {
          return; // the runner is gone: this request got no 200
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, name) => worker(name));
    await waitFor('load to build up', () => acknowledged.length >= 200 && bed.fake.records().length > 0);
    first.kill('SIGKILL');
    killed = true;
    await Promise.all(workers);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const second = bed.run(MAIN, '--config', config);
    await second.url();
    await waitFor(`all ${acknowledged.length} acknowledged events at CleverTap`, () => {
      const arrived = new Set(bed.fake.records().map((stored) => probeOf(stored.record)));
      return acknowledged.every((id) => arrived.has(id));
    });
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('on SIGTERM stops taking webhooks, finishes in-flight deliveries and exits 0', async () => {
    await bed.replaceFake({ latencyMs: 500 });
    const config = await writeConfig(
      testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake, {}, { timeoutMs: 10_000 })] }),
    );
    const child = bed.run(MAIN, '--config', config);
    const url = await child.url();
    for (let i = 0; i < 10; i++) expect((await postWebhookTo(url, probeWebhook(`term-${i}`))).status).toBe(200);
    await waitFor('a request in flight at CleverTap', () => bed.fake.requests().some((request) => request.status === null));

    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    const messages = child.lines.map((line) => line.msg);
    expect(messages).toEqual(expect.arrayContaining(['shutting down: refusing webhooks, finishing in-flight deliveries', 'stopped']));

    // The request in flight at SIGTERM was answered and its outcome written: nothing is left in flight.
    const store = await openStore(`sqlite:${path.join(bed.dir.path, 'ferry.db')}`);
    try {
      const stats = await store.log.stats(Date.now());
      const count = (state: string) => stats.deliveries.find((row) => row.state === state)?.count ?? 0;
      expect(count('in_flight')).toBe(0);
      const arrived = new Set(bed.fake.records().map((stored) => probeOf(stored.record)));
      expect(arrived.size).toBeGreaterThan(0);
      expect(count('delivered')).toBe(arrived.size);
      expect(count('delivered') + count('pending')).toBe(10);
    } finally {
      await store.close();
    }
    for (const secret of SECRETS) expect(child.stdout + child.stderr).not.toContain(secret);
  });

  it('on SIGHUP stops gracefully as on SIGTERM, and exits 0', async () => {
    const config = await writeConfig(testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake)] }));
    const child = bed.run(MAIN, '--config', config);
    const url = await child.url();
    expect((await postWebhookTo(url, probeWebhook('hup-0'))).status).toBe(200);
    await waitFor('the webhook at CleverTap', () => bed.fake.records().some((stored) => probeOf(stored.record) === 'hup-0'));

    child.kill('SIGHUP');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['shutting down: refusing webhooks, finishing in-flight deliveries', 'stopped']),
    );
  });

  it('refuses a bad config with one line per problem and exits 1; a bad flag exits 2', async () => {
    const config = await writeConfig(
      { server: { host: '0.0.0.0' }, destinations: [{ id: 'ct', plugin: 'clevertap', settings: { region: 'mars1' } }] },
      'bad.json',
    );
    const bad = bed.run(MAIN, '--config', config);
    expect((await bad.exited).code).toBe(1);
    expect(bad.stderr.split('\n')).toEqual(
      expect.arrayContaining([
        `ferry: invalid config ${config}:`,
        expect.stringMatching(/^destinations\[0\]\.settings\.region: unknown region "mars1"/),
        'sources.revenuecat.authorization: required when server.host (0.0.0.0) is not a loopback address',
      ]),
    );
    const flag = bed.run(MAIN, '--verbose');
    expect((await flag.exited).code).toBe(2);
    expect(flag.stderr).toMatch(/^ferry: Unknown option '--verbose'/);
  });
});

describe('the ferry command', () => {
  it('previews a webhook from the built CLI', async () => {
    const config = await writeConfig(testConfig(bed.dir.path, { destinations: [clevertapDestination(bed.fake)] }));
    const webhook = path.join(bed.dir.path, 'webhook.json');
    await writeFile(webhook, webhookBody('trial_started'));
    const preview = bed.run(CLI, 'preview', '--config', config, webhook);
    expect((await preview.exited).code).toBe(0);
    expect(preview.stdout).toContain(`  POST ${bed.fake.url}/1/upload\n`);
    expect(preview.stdout).toContain('  X-CleverTap-Passcode: [redacted]\n');
    expect(preview.stdout).toContain('"evtName": "rc_trial_started_event"');
    expect(preview.stdout).not.toContain(PASSCODE);
    const unknown = bed.run(CLI, 'launch');
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.stderr).toMatch(/^ferry: unknown command "launch"/);
  });
});

describe('without a config file', () => {
  it('starts from the example on loopback, says what is missing, and keeps events as paused deliveries', async () => {
    const location = locateConfig(undefined, {}, bed.dir.path);
    expect(location.example).toBe(true);
    const example = readConfigFile(location) as ConfigInput;
    // Only where it listens and stores differs, so the test neither takes port 8080 nor writes into the repository.
    const { runner, logs } = await startTestRunner(
      { ...example, server: { ...example.server, port: 0 }, store: { url: `sqlite:${path.join(bed.dir.path, 'ferry.db')}` } },
      { configSource: location },
    );
    try {
      expect(runner.config.server.host).toBe('127.0.0.1');
      const warnings = logs
        .entries()
        .filter((entry) => entry.level === 40)
        .map((entry) => entry.msg);
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^no config file found/),
          expect.stringMatching(/^destination clevertap-main cannot send yet \(settings\.accountId and settings\.passcode are not set\)/),
          expect.stringMatching(/admin API is disabled/),
        ]),
      );
      const answer = await send('POST', `${runner.url}/webhooks/revenuecat`, webhookBody('renewal'), {
        'content-type': 'application/json',
      });
      expect(answer.status).toBe(200);
      const event = await runner.store.log.getEvent(answer.json.id);
      expect(event?.deliveries).toEqual([expect.objectContaining({ destinationId: 'clevertap-main', state: 'paused' })]);
    } finally {
      await runner.close();
    }
  });
});
