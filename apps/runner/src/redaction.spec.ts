import { startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  ADMIN_TOKEN,
  WEBHOOK_AUTHORIZATION,
  clevertapDestination,
  closeHttp,
  send,
  startTestRunner,
  tempDir,
  testConfig,
  waitFor,
  type TempDir,
} from './testing/harness';

/** A passcode whose JSON, URL and base64 forms all differ from it, so each echo below is a distinct string. */
const PASSCODE = 'ct/pass"code+9f2b&x=1';

/** How a vendor might quote the passcode back in an error body: never verbatim. */
const ECHOES = [
  JSON.stringify({ received: { passcode: PASSCODE } }),
  `url=https://api.test/?passcode=${encodeURIComponent(PASSCODE)}`,
  `form=${new URLSearchParams({ passcode: PASSCODE }).toString()}`,
  `authorization=Basic ${Buffer.from(`${ACCOUNT_ID}:${PASSCODE}`).toString('base64')}`,
  `token=${Buffer.from(PASSCODE).toString('base64url')}`,
];

/** The passcode in any of the forms above, decoded back: found if any part of a text gives it away. */
function leaks(text: string): string[] {
  const found = ECHOES.filter((echo) => text.includes(echo.slice(echo.indexOf('=') + 1)));
  if (text.includes(PASSCODE) || text.includes(JSON.stringify(PASSCODE).slice(1, -1))) found.push('verbatim');
  for (const [run] of text.matchAll(/[A-Za-z0-9+/_-]{12,}={0,2}/g)) {
    if (Buffer.from(run, 'base64').toString('latin1').includes('pass"code')) found.push(`base64 ${run}`);
  }
  return found;
}

let dir: TempDir;
let fake: FakeCleverTap;
beforeEach(async () => {
  dir = await tempDir();
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
});
afterEach(async () => {
  await fake.close();
  await dir.remove();
});
afterAll(() => closeHttp());

describe('a destination that echoes the passcode transformed in its error body', () => {
  it('gets it redacted from the stored error, admin responses, logs and metrics', async () => {
    for (const echo of ECHOES) fake.inject({ type: 'status', status: 500, body: `rejected: ${echo}`, contentType: 'text/plain' });
    const t = await startTestRunner(
      testConfig(dir.path, {
        destinations: [clevertapDestination(fake, { passcode: PASSCODE })],
        delivery: { baseDelayMs: 1, maxDelayMs: 1 },
      }),
    );
    try {
      const answer = await t.postWebhook(webhookBody('renewal', { id: 'echoed' }));
      expect(answer.status).toBe(200);
      const event = await waitFor('every echo answered and the event delivered', async () => {
        const { json } = await t.admin('GET', '/events/echoed');
        return json.deliveries[0].state === 'delivered' && json;
      });
      const errors = event.deliveries[0].attemptLog.map((attempt: { error: string | null }) => attempt.error).filter(Boolean);
      expect(errors).toHaveLength(ECHOES.length);
      for (const error of errors) expect(error).toContain('[redacted]');

      const outputs = {
        event: JSON.stringify(event),
        deliveries: (await t.admin('GET', '/deliveries?limit=500')).text,
        destinations: (await t.admin('GET', '/destinations')).text,
        metrics: (await send('GET', `${t.runner.url}/metrics`)).text,
        logs: t.logs.text(),
      };
      for (const [where, text] of Object.entries(outputs)) expect({ where, leaks: leaks(text) }).toEqual({ where, leaks: [] });
      // The other configured secrets stay out as well.
      expect(Object.values(outputs).join('\n')).not.toContain(ADMIN_TOKEN);
      expect(Object.values(outputs).join('\n')).not.toContain(WEBHOOK_AUTHORIZATION.slice('Bearer '.length));
    } finally {
      await t.runner.close();
    }
  });
});
