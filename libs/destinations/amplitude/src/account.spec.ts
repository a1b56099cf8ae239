/**
 * Erasure and the connection check against the fake Amplitude over real HTTP: the user privacy API with Basic
 * auth (API key : secret key), as the runner would send the requests the hooks build.
 */
import type { ErasureSubject } from '@ferry/core';
import { exchangeOverHttp, fixtureEvent, startFakeAmplitude, type FakeAmplitude } from '@ferry/testkit';
import { amplitudePlugin as plugin } from './plugin';
import { AmplitudeSettings } from './settings';

const API_KEY = 'amp-erase-api-key-0001';
const SECRET_KEY = 'amp-erase-secret-key-0002';

let fake: FakeAmplitude;
beforeEach(async () => {
  fake = await startFakeAmplitude({ projects: { production: API_KEY }, secretKeys: { production: SECRET_KEY } });
});
afterEach(() => fake.close());

const settingsFor = (overrides: Record<string, unknown> = {}) =>
  AmplitudeSettings.parse({ endpoint: fake.url, apiKey: API_KEY, secretKey: SECRET_KEY, ...overrides });

/** A customer with two aliases and an `$amplitudeUserId`, as the runner gathers it. */
const customer: ErasureSubject = {
  appUserIds: ['user-1', '$RCAnonymousID:aaa', 'old-alias-2'],
  identities: [{ user_id: 'user-1' }, { user_id: 'amp-user-77', device_id: 'device-5' }],
};

async function erase(settings: AmplitudeSettings, subject = customer) {
  const answers = [];
  for (const request of plugin.erasure!.requests(subject, settings)) {
    answers.push(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings));
  }
  return answers;
}

describe('Amplitude erasure over HTTP', () => {
  it('asks the user privacy API to delete every user id, the users Amplitude knows included', async () => {
    const settings = settingsFor();
    // One event for user-1, so Amplitude knows that user and answers with its Amplitude id.
    const [delivery] = plugin.buildRequests(
      [{ deliveryId: 'd1', event: { ...fixtureEvent('renewal'), appUserId: 'user-1', attributes: {} } }],
      settings,
    );
    await exchangeOverHttp(delivery);

    expect(await erase(settings)).toEqual([{ type: 'done', status: 200 }]);
    const [deletion] = fake.deletions('production');
    expect(deletion.userIds).toEqual(['user-1', '$RCAnonymousID:aaa', 'old-alias-2', 'amp-user-77']);
    expect(deletion.amplitudeIds).toHaveLength(1);
    expect(deletion.requester).toBe('Ferry');
  });

  it('splits 150 ids into requests of at most 100', async () => {
    const appUserIds = Array.from({ length: 150 }, (_, i) => `bulk-user-${i}`);
    expect((await erase(settingsFor(), { appUserIds, identities: [] })).map((a) => a.type)).toEqual(['done', 'done']);
    expect(fake.deletions().map((d) => d.userIds.length)).toEqual([100, 50]);
  });

  it('retries a 503, then goes through', async () => {
    const settings = settingsFor();
    const [request] = plugin.erasure!.requests(customer, settings);
    fake.inject({ type: 'status', status: 503 });
    expect(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings)).toMatchObject({ type: 'retry', status: 503 });
    expect(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings)).toEqual({ type: 'done', status: 200 });
  });

  it('fails on a wrong secret key, naming no secret', async () => {
    const answers = await erase(settingsFor({ secretKey: 'wrong-secret-key-9999' }));
    expect(answers).toEqual([{ type: 'failed', status: 401, reason: 'credentials refused: HTTP 401: Invalid API key or secret key' }]);
    expect(fake.deletions()).toEqual([]);
  });

  it('needs the secret key, and says so', () => {
    const settings = AmplitudeSettings.parse({ apiKey: API_KEY });
    expect(plugin.erasure!.missingConfig!(settings)).toEqual(['settings.secretKey is not set']);
    expect(plugin.connectionCheck!.missingConfig!(settings)).toEqual(['settings.secretKey is not set']);
    // Deliveries go on without it.
    expect(plugin.missingConfig!(settings)).toEqual([]);
  });
});

describe('Amplitude connection check over HTTP', () => {
  const check = async (settings: AmplitudeSettings) =>
    plugin.connectionCheck!.readAnswer(await exchangeOverHttp(plugin.connectionCheck!.request(settings)), settings);

  it('is ok with the right keys, and changes nothing', async () => {
    expect(await check(settingsFor())).toMatchObject({ ok: true });
    expect(fake.deletions()).toEqual([]);
    expect(fake.events()).toEqual([]);
  });

  it('is refused with a wrong secret key, with a reason and no secret', async () => {
    const verdict = await check(settingsFor({ secretKey: 'wrong-secret-key-9999' }));
    expect(verdict).toEqual({ ok: false, reason: 'credentials refused: HTTP 401: Invalid API key or secret key' });
  });
});
