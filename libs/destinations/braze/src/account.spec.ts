/**
 * Erasure and the connection check against the fake Braze over real HTTP: `/users/delete` and `/events/list`,
 * as the runner would send the requests the hooks build.
 */
import type { ErasureSubject } from '@ferry/core';
import { exchangeOverHttp, fixtureEvent, startFakeBraze, type FakeBraze } from '@ferry/testkit';
import { brazePlugin as plugin } from './plugin';
import { BrazeSettings } from './settings';

const API_KEY = 'braze-erase-key-0001';
const SANDBOX_KEY = 'braze-erase-sandbox-0002';

let fake: FakeBraze;
beforeEach(async () => {
  fake = await startFakeBraze({ workspaces: { production: API_KEY, sandbox: SANDBOX_KEY } });
});
afterEach(() => fake.close());

const settingsFor = (overrides: Record<string, unknown> = {}) =>
  BrazeSettings.parse({ restEndpoint: fake.url, apiKey: API_KEY, ...overrides });

/** A customer with two aliases and a Braze alias identity, as the runner gathers it. */
const customer: ErasureSubject = {
  appUserIds: ['user-1', '$RCAnonymousID:aaa', 'old-alias-2'],
  identities: [{ external_id: 'user-1' }, { alias_name: 'amy', alias_label: 'crm_id' }],
};

async function erase(settings: BrazeSettings, subject = customer) {
  const answers = [];
  for (const request of plugin.erasure!.requests(subject, settings)) {
    answers.push(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings));
  }
  return answers;
}

describe('Braze erasure over HTTP', () => {
  it('deletes the external ids and the alias, one kind of identifier per request', async () => {
    // The profile exists: Braze counts it as deleted.
    const [track] = plugin.buildRequests([{ deliveryId: 'd1', event: renewalOf('user-1') }], settingsFor());
    await exchangeOverHttp(track);
    expect(fake.profiles()).toHaveLength(1);

    expect(await erase(settingsFor())).toEqual([
      { type: 'done', status: 201 },
      { type: 'done', status: 201 },
    ]);
    expect(fake.deletions().map(({ externalIds, userAliases, deleted }) => ({ externalIds, userAliases, deleted }))).toEqual([
      { externalIds: ['user-1', '$RCAnonymousID:aaa', 'old-alias-2'], userAliases: [], deleted: 1 },
      { externalIds: [], userAliases: [{ alias_name: 'amy', alias_label: 'crm_id' }], deleted: 0 },
    ]);
    expect(fake.profiles()).toEqual([]);
  });

  it('erases in the sandbox workspace too, and splits at 50', async () => {
    const appUserIds = Array.from({ length: 60 }, (_, i) => `bulk-user-${i}`);
    await erase(settingsFor({ sandboxApiKey: SANDBOX_KEY }), { appUserIds, identities: [] });
    expect(fake.deletions().map((d) => [d.workspace, d.externalIds.length])).toEqual([
      ['production', 50],
      ['production', 10],
      ['sandbox', 50],
      ['sandbox', 10],
    ]);
  });

  it('retries a 500, then goes through', async () => {
    const settings = settingsFor();
    const [request] = plugin.erasure!.requests(customer, settings);
    fake.inject({ type: 'status', status: 500 });
    expect(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings)).toMatchObject({ type: 'retry', status: 500 });
    expect(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings)).toEqual({ type: 'done', status: 201 });
  });

  it('fails on a wrong key, naming no secret', async () => {
    const answers = await erase(settingsFor({ apiKey: 'wrong-braze-key-9999' }));
    expect(answers[0]).toMatchObject({ type: 'failed', status: 401 });
    expect(JSON.stringify(answers)).not.toContain('wrong-braze-key-9999');
  });
});

describe('Braze connection check over HTTP', () => {
  const check = async (settings: BrazeSettings) =>
    plugin.connectionCheck!.readAnswer(await exchangeOverHttp(plugin.connectionCheck!.request(settings)), settings);

  it('is ok with the right key, and changes nothing', async () => {
    expect(await check(settingsFor())).toMatchObject({ ok: true });
    expect(fake.objects()).toEqual([]);
    expect(fake.profiles()).toEqual([]);
  });

  it('is refused with a wrong key, with a reason and no secret', async () => {
    const verdict = await check(settingsFor({ apiKey: 'wrong-braze-key-9999' }));
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toMatch(/credentials refused: HTTP 401: .*Invalid API Key.*events\.list permission/);
    expect(verdict.reason).not.toContain('wrong-braze-key-9999');
  });

  it('says what is missing', () => {
    expect(plugin.connectionCheck!.missingConfig!(BrazeSettings.parse({ apiKey: API_KEY }))).toEqual([
      'settings.restEndpoint (or settings.instance) is not set',
    ]);
  });
});

function renewalOf(appUserId: string) {
  const event = fixtureEvent('renewal');
  return { ...event, appUserId, attributes: {} };
}
