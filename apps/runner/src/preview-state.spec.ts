/**
 * SPEC §12 in the preview: with CleverTap's `profileSync` and `chargedEvent` on, the exact request an operator
 * previews for a paid purchase holds the rc_ event, the `Charged` event and the profile record, through the
 * admin API and the CLI alike. Nothing is stored or sent.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fixture, startFakeCleverTap, webhookBody, type FakeCleverTap } from '@ferry/testkit';
import {
  ACCOUNT_ID,
  PASSCODE,
  clevertapDestination,
  closeHttp,
  startTestRunner,
  tempDir,
  testConfig,
  type TempDir,
  type TestRunner,
  runFerry,
} from './testing/harness';

const STATE_ON = { profileSync: true, chargedEvent: true };
// The initial_purchase fixture (S1): a USD 9.99 App Store purchase of com.example.pro.monthly, entitlement "pro".
const OBJECT_ID = 'a1b2c3d4e5f6478890abcdef12345678';
const WEBHOOK_ID = '5b1e7c9a-0d3f-4a61-9e2b-7f4c8a1d2e01';
const TS = 1740823202;
const CHARGED = {
  type: 'event',
  evtName: 'Charged',
  evtData: { Amount: 9.99, Currency: 'USD', 'Charged ID': WEBHOOK_ID, Items: [{ product_id: 'com.example.pro.monthly', Quantity: 1 }] },
  ts: TS,
  objectId: OBJECT_ID,
};
const PROFILE = {
  type: 'profile',
  profileData: {
    rc_subscription_status: 'active',
    rc_entitlements: ['pro'],
    rc_product_id: 'com.example.pro.monthly',
    rc_store: 'APP_STORE',
    rc_expires_at: '$D_1743501600',
  },
  ts: TS,
  objectId: OBJECT_ID,
};
const EXPECTED_RECORDS = [
  expect.objectContaining({ type: 'event', evtName: 'rc_initial_purchase_event', ts: TS, objectId: OBJECT_ID }),
  CHARGED,
  PROFILE,
];

let dir: TempDir;
let fake: FakeCleverTap;
beforeAll(async () => {
  dir = await tempDir();
  fake = await startFakeCleverTap({ accounts: { [ACCOUNT_ID]: PASSCODE } });
});
afterAll(async () => {
  await fake?.close();
  await closeHttp();
  await dir?.remove();
});

describe('POST /admin/preview with profileSync and chargedEvent', () => {
  let t: TestRunner;
  beforeAll(async () => {
    t = await startTestRunner(testConfig(dir.path, { destinations: [clevertapDestination(fake, STATE_ON)] }));
  });
  afterAll(() => t?.runner.close());

  it('shows the rc_ event, Charged and the profile record in the one exact request, the event deciding', async () => {
    const answer = await t.admin('POST', '/preview', fixture('initial_purchase').webhook);
    expect(answer.status).toBe(200);
    const [destination] = answer.json.destinations;
    expect(destination).toMatchObject({ destinationId: 'clevertap-main', status: 'send' });
    expect(destination.requests).toHaveLength(1);
    const [request] = destination.requests;
    expect(JSON.parse(request.body)).toEqual({ d: EXPECTED_RECORDS });
    expect(request.records.map(({ part, decides }: { part: string; decides: boolean }) => [part, decides])).toEqual([
      ['event', true],
      ['Charged', false],
      ['profile', false],
    ]);
    expect(request.headers['X-CleverTap-Passcode']).toBe('[redacted]');
    expect(answer.text).not.toContain(PASSCODE);
    expect(fake.requests()).toHaveLength(0);
  });
});

describe('ferry preview with profileSync and chargedEvent', () => {
  async function preview(...flags: string[]) {
    const config = path.join(dir.path, 'ferry.config.json');
    await writeFile(config, JSON.stringify(testConfig(dir.path, { destinations: [clevertapDestination(fake, STATE_ON)] })));
    const webhook = path.join(dir.path, 'webhook.json');
    await writeFile(webhook, webhookBody('initial_purchase'));
    return runFerry(dir.path, 'preview', '--config', config, ...flags, webhook);
  }

  it('prints the Charged event and the profile record beside the rc_ event', async () => {
    const run = await preview();
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^clevertap-main \(clevertap\): 1 request\(s\)$/m);
    // The body is printed last, indented: read it back whole, so every record is seen in its place.
    const printedBody = run.stdout.slice(run.stdout.indexOf('\n  {\n'));
    expect(JSON.parse(printedBody)).toEqual({ d: EXPECTED_RECORDS });
    expect(run.stdout).not.toContain(PASSCODE);
  });

  it('--json gives the byte-exact request with all three records', async () => {
    const run = await preview('--json');
    expect(run.code).toBe(0);
    const [destination] = JSON.parse(run.stdout).destinations;
    expect(JSON.parse(destination.requests[0].body)).toEqual({ d: EXPECTED_RECORDS });
    expect(fake.requests()).toHaveLength(0);
  });
});
