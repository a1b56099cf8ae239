import { redactSettings } from '@ferry/core';
import { z } from 'zod';
import { clevertapPlugin } from './plugin';
import { CLEVERTAP_REGIONS, CleverTapSettings } from './settings';

/** Every problem of `input` as `path: message`. */
function problems(input: unknown): string[] {
  const result = CleverTapSettings.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('settings', () => {
  it('validates an unconfigured destination with defaults, so its events can wait as paused', () => {
    expect(CleverTapSettings.parse({})).toEqual({ region: 'eu1', salesReporting: 'gross', profileSync: false, chargedEvent: false });
  });

  it('takes profileSync and chargedEvent as booleans only, naming the field otherwise', () => {
    expect(CleverTapSettings.parse({ profileSync: true, chargedEvent: true })).toMatchObject({ profileSync: true, chargedEvent: true });
    const result = CleverTapSettings.safeParse({ profileSync: 'yes', chargedEvent: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['profileSync', 'chargedEvent']);
  });

  it('accepts every CleverTap region and rejects others, listing the valid ones', () => {
    for (const region of ['eu1', 'in1', 'sg1', 'us1', 'aps3', 'mec1']) expect(problems({ region })).toEqual([]);
    expect(CLEVERTAP_REGIONS).toEqual(['eu1', 'in1', 'sg1', 'us1', 'aps3', 'mec1']);
    expect(problems({ region: 'sk1' })).toEqual(['region: unknown region "sk1"; valid regions: eu1, in1, sg1, us1, aps3, mec1']);
    expect(problems({ region: 42 })).toEqual(['region: unknown region 42; valid regions: eu1, in1, sg1, us1, aps3, mec1']);
  });

  it('takes an http(s) base URL as endpoint and nothing else', () => {
    expect(problems({ endpoint: 'http://127.0.0.1:9999' })).toEqual([]);
    expect(problems({ endpoint: 'https://proxy.example.com/clevertap/' })).toEqual([]);
    expect(problems({ endpoint: 'ftp://127.0.0.1' })).toEqual(['endpoint: must be an http(s) base URL, e.g. http://127.0.0.1:9999']);
    expect(problems({ endpoint: 'not a url' })).toEqual(['endpoint: must be an http(s) base URL, e.g. http://127.0.0.1:9999']);
    for (const endpoint of ['http://user:secret@127.0.0.1', 'http://127.0.0.1/?x=1', 'http://127.0.0.1/#x']) {
      expect(problems({ endpoint })).toEqual(['endpoint: must be a plain base URL: no credentials, query or fragment']);
    }
  });

  it('says which credentials are missing without making them a config error', () => {
    const missing = (input: object) => clevertapPlugin.missingConfig?.(CleverTapSettings.parse(input));
    expect(missing({})).toEqual(['settings.accountId and settings.passcode are not set']);
    expect(missing({ accountId: 'A' })).toEqual(['settings.passcode is not set']);
    expect(missing({ passcode: 'P' })).toEqual(['settings.accountId is not set']);
    expect(missing({ accountId: '', passcode: ' ' })).toEqual(['settings.accountId and settings.passcode are not set']);
    expect(missing({ accountId: 'A', passcode: 'P' })).toEqual([]);
  });

  it('needs both sandbox credentials or neither', () => {
    expect(problems({ sandboxAccountId: 'S', sandboxPasscode: 'SP' })).toEqual([]);
    expect(problems({ sandboxAccountId: 'S' })).toEqual([
      'sandboxPasscode: must be set when sandboxAccountId is set (sandbox events need both)',
    ]);
    expect(problems({ sandboxPasscode: 'SP', sandboxAccountId: '' })).toEqual([
      'sandboxAccountId: must be set when sandboxPasscode is set (sandbox events need both)',
    ]);
  });

  it('lets optional kinds be switched off and refuses blank required kinds or unknown kinds', () => {
    expect(problems({ eventNames: { expiration: null, billing_issue: '', product_change: null, renewal: 'Renewed' } })).toEqual([]);
    expect(problems({ eventNames: { renewal: null } })).toEqual([
      'eventNames.renewal: "renewal" must have a name (only optional kinds can be switched off)',
    ]);
    expect(problems({ eventNames: { initial_purchase: '' } })).toEqual([
      'eventNames.initial_purchase: "initial_purchase" must have a name (only optional kinds can be switched off)',
    ]);
    expect(problems({ eventNames: { subscription_paused: 'paused' } })).toEqual([
      'eventNames.subscription_paused: unknown or unsupported event kind "subscription_paused"',
    ]);
    expect(problems({ eventNames: { renewl: 'x' } })).toEqual(['eventNames.renewl: unknown or unsupported event kind "renewl"']);
  });

  it('defaults sales reporting to gross and accepts only the three options', () => {
    for (const salesReporting of ['gross', 'after_store_commission', 'after_store_commission_and_taxes']) {
      expect(CleverTapSettings.parse({ salesReporting }).salesReporting).toBe(salesReporting);
    }
    expect(problems({ salesReporting: 'net' })).toHaveLength(1);
    expect(problems({ salesReporting: 'net' })[0]).toMatch(/^salesReporting: /);
  });

  it('rejects settings that are not an object, without throwing', () => {
    for (const input of [null, undefined, [], 'eu1', 42]) expect(problems(input)).toHaveLength(1);
  });

  it('rejects a misspelt key instead of ignoring it', () => {
    expect(problems({ passCode: 'x' })).toEqual([': Unrecognized key: "passCode"']);
  });

  it('reports every problem at once, each with its path', () => {
    expect(
      problems({ region: 'xx', accountId: 5, sandboxAccountId: 'S', eventNames: { renewal: null }, salesReporting: 'net' }).map(
        (p) => p.split(':')[0],
      ),
    ).toEqual(['region', 'accountId', 'salesReporting', 'eventNames.renewal', 'sandboxPasscode']);
  });

  it('ships a documented example that validates and names its secrets', () => {
    expect(CleverTapSettings.parse(clevertapPlugin.exampleSettings)).toEqual(clevertapPlugin.exampleSettings);
    expect(clevertapPlugin.missingConfig?.(clevertapPlugin.exampleSettings)).toEqual([]);
    expect(clevertapPlugin.secrets).toEqual(['passcode', 'sandboxPasscode']);
    const redacted = JSON.stringify(redactSettings(clevertapPlugin.exampleSettings, clevertapPlugin.secrets));
    expect(redacted).not.toContain('YOUR-PASSCODE');
    expect(redacted).not.toContain('YOUR-SANDBOX-PASSCODE');
    expect(redacted).toContain('YOUR-ACCOUNT-ID');
  });

  it('describes itself as JSON Schema for config editors', () => {
    const schema = z.toJSONSchema(CleverTapSettings, { io: 'input' }) as { properties: object; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual([
      'region',
      'endpoint',
      'accountId',
      'passcode',
      'sandboxAccountId',
      'sandboxPasscode',
      'eventNames',
      'salesReporting',
      'profileSync',
      'chargedEvent',
    ]);
    expect(schema.additionalProperties).toBe(false);
  });
});
