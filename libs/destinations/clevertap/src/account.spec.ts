/**
 * Erasure and the connection check against the fake CleverTap over real HTTP: the requests the hooks build are
 * sent as the runner would send them, one at a time, and the answers read back.
 */
import type { ErasureSubject } from '@ferry/core';
import { exchangeOverHttp, startFakeCleverTap, type FakeCleverTap } from '@ferry/testkit';
import { clevertapPlugin as plugin } from './plugin';
import { CleverTapSettings } from './settings';

const ACCOUNT = 'CT-ERASE-ACCOUNT';
const PASSCODE = 'ct-erase-passcode-0001';
const SANDBOX = 'CT-ERASE-SANDBOX';
const SANDBOX_PASSCODE = 'ct-erase-sandbox-0002';

let fake: FakeCleverTap;
beforeEach(async () => {
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT]: PASSCODE, [SANDBOX]: SANDBOX_PASSCODE } });
});
afterEach(() => fake.close());

const settingsFor = (overrides: Record<string, unknown> = {}) =>
  CleverTapSettings.parse({ endpoint: fake.url, accountId: ACCOUNT, passcode: PASSCODE, ...overrides });

/** A customer with two aliases and a CleverTap id, as the runner gathers it. */
const customer: ErasureSubject = {
  appUserIds: ['user-1', '$RCAnonymousID:aaa', 'old-alias-2'],
  identities: [{ identity: 'user-1' }, { objectId: '-g55b74fb1030740e4a4931910e67abcd' }],
};

/** Sends the erase requests one at a time, as CleverTap asks; the answers, read. */
async function erase(settings: CleverTapSettings, subject = customer) {
  const answers = [];
  for (const request of plugin.erasure!.requests(subject, settings)) {
    answers.push(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings));
  }
  return answers;
}

describe('CleverTap erasure over HTTP', () => {
  it('deletes every identity and the CleverTap id, identities and guids in separate requests', async () => {
    expect(await erase(settingsFor())).toEqual([
      { type: 'done', status: 200 },
      { type: 'done', status: 200 },
    ]);
    expect(fake.deletions().map(({ accountId, identity, guid }) => ({ accountId, identity, guid }))).toEqual([
      { accountId: ACCOUNT, identity: ['user-1', '$RCAnonymousID:aaa', 'old-alias-2'], guid: [] },
      { accountId: ACCOUNT, identity: [], guid: ['-g55b74fb1030740e4a4931910e67abcd'] },
    ]);
  });

  it('erases in the sandbox account too when it is configured', async () => {
    await erase(settingsFor({ sandboxAccountId: SANDBOX, sandboxPasscode: SANDBOX_PASSCODE }));
    expect(fake.deletions(SANDBOX).flatMap((d) => [...d.identity, ...d.guid])).toEqual([
      'user-1',
      '$RCAnonymousID:aaa',
      'old-alias-2',
      '-g55b74fb1030740e4a4931910e67abcd',
    ]);
  });

  it('splits 250 ids into requests of 100 that CleverTap takes', async () => {
    const appUserIds = Array.from({ length: 250 }, (_, i) => `bulk-user-${i}`);
    expect((await erase(settingsFor(), { appUserIds, identities: [] })).map((a) => a.type)).toEqual(['done', 'done', 'done']);
    expect(fake.deletions().map((d) => d.identity.length)).toEqual([100, 100, 50]);
  });

  it('retries a 500 and a 429, then the same request goes through', async () => {
    const settings = settingsFor();
    const [request] = plugin.erasure!.requests(customer, settings);
    fake.inject({ type: 'status', status: 500 }, { type: 'status', status: 429 });
    expect(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings)).toMatchObject({ type: 'retry', status: 500 });
    expect(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings)).toMatchObject({ type: 'retry', status: 429 });
    expect(fake.deletions()).toEqual([]);
    expect(plugin.erasure!.readAnswer(request, await exchangeOverHttp(request), settings)).toEqual({ type: 'done', status: 200 });
    expect(fake.deletions()).toHaveLength(1);
  });

  it('fails on a wrong passcode, naming no secret', async () => {
    const answers = await erase(settingsFor({ passcode: 'wrong-passcode-9999' }));
    expect(answers[0]).toMatchObject({ type: 'failed', status: 401 });
    expect(JSON.stringify(answers)).not.toContain('wrong-passcode-9999');
    expect(fake.deletions()).toEqual([]);
  });

  it('says what is missing before anything is sent', () => {
    expect(plugin.erasure!.missingConfig!(CleverTapSettings.parse({ accountId: ACCOUNT }))).toEqual(['settings.passcode is not set']);
  });
});

describe('CleverTap connection check over HTTP', () => {
  const check = async (settings: CleverTapSettings) => {
    const request = plugin.connectionCheck!.request(settings);
    return plugin.connectionCheck!.readAnswer(await exchangeOverHttp(request), settings);
  };

  it('is ok with the right passcode, and changes nothing', async () => {
    expect(await check(settingsFor())).toMatchObject({ ok: true });
    expect(fake.records()).toEqual([]);
    expect(fake.deletions()).toEqual([]);
  });

  it('is refused with a wrong passcode, with a reason and no secret', async () => {
    const verdict = await check(settingsFor({ passcode: 'wrong-passcode-9999' }));
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toMatch(/credentials refused: HTTP 401: .*Invalid Credentials/);
    expect(verdict.reason).not.toContain('wrong-passcode-9999');
  });

  it('cannot tell when CleverTap is down', async () => {
    fake.inject({ type: 'status', status: 503 });
    expect((await check(settingsFor())).ok).toBeNull();
  });
});
