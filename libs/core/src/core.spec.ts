import {
  attributeIgnoringCase,
  DEFAULT_RETRY_POLICY,
  formatPath,
  parseRetryAfter,
  REDACTED,
  redactRequest,
  redactSettings,
  redactText,
  resolveEventName,
  retriesExhausted,
  revenueCatKinds,
  retryDelayMs,
  roundToMinorUnit,
  secretForms,
  secretSettingValues,
  standardEventHooks,
  standardFailureOutcomes,
  type Capabilities,
  type DeliveryRequest,
  type Identity,
  type SubscriptionEvent,
} from './index';

const capabilities: Capabilities = {
  batch: { maxItems: 10 },
  maxConcurrency: 1,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'drop',
  kinds: { renewal: { defaultName: 'rc_renewal', optional: false }, expiration: { defaultName: 'rc_exp', optional: true } },
};

describe('money', () => {
  it('rounds to the currency minor unit, half away from zero', () => {
    expect(roundToMinorUnit(1.005, 'EUR')).toBe(1.01);
    expect(roundToMinorUnit(42.4915, 'EUR')).toBe(42.49);
    expect(roundToMinorUnit(1234.5, 'JPY')).toBe(1235);
    expect(roundToMinorUnit(1.2345, 'KWD')).toBe(1.235);
    expect(roundToMinorUnit(-0.001, 'USD')).toBe(0);
    expect(roundToMinorUnit(2.5, 'NOT-A-CODE')).toBe(2.5);
    // Numbers JavaScript prints with an exponent.
    expect(roundToMinorUnit(4e-7, 'USD')).toBe(0);
    expect(roundToMinorUnit(-5e-7, 'USD')).toBe(0);
    expect(roundToMinorUnit(123456789012.345, 'USD')).toBe(123456789012.35);
  });
});

describe('event names', () => {
  it('uses the default, an override, and lets only optional kinds be switched off', () => {
    expect(resolveEventName(capabilities, 'renewal', undefined)).toBe('rc_renewal');
    expect(resolveEventName(capabilities, 'renewal', { renewal: 'Renewed' })).toBe('Renewed');
    expect(resolveEventName(capabilities, 'renewal', { renewal: '' })).toBe('rc_renewal');
    expect(resolveEventName(capabilities, 'expiration', { expiration: null })).toBeUndefined();
    expect(resolveEventName(capabilities, 'expiration', { expiration: '' })).toBeUndefined();
    expect(resolveEventName(capabilities, 'cancellation', undefined)).toBeUndefined();
  });
  it("declares kinds under RevenueCat's own names, required ones first", () => {
    expect(revenueCatKinds(['renewal', 'non_subscription_purchase'], ['subscription_paused'])).toEqual({
      renewal: { defaultName: 'rc_renewal_event', optional: false },
      non_subscription_purchase: { defaultName: 'rc_non_subscription_purchase_event', optional: false },
      subscription_paused: { defaultName: 'rc_subscription_paused_event', optional: true },
    });
  });
});

describe('standard event hooks', () => {
  type Settings = { eventNames?: Record<string, string | null>; sandboxKey?: string };
  const event = (overrides: Partial<SubscriptionEvent>) =>
    ({ kind: 'renewal', type: 'RENEWAL', environment: 'PRODUCTION', appUserId: 'u1', attributes: {}, ...overrides }) as SubscriptionEvent;
  const hooks = standardEventHooks<Settings>('sample', capabilities, {
    requiresUser: { identity: (e): Identity => (e.appUserId ? { user_id: e.appUserId } : {}), missing: 'no app_user_id' },
  });

  it('filter: the standard rules first, then no_user when the identity is empty', () => {
    expect(hooks.filter(event({}), {})).toBeUndefined();
    expect(hooks.filter(event({ appUserId: null }), {})).toEqual({ rule: 'no_user', reason: 'no app_user_id' });
    expect(hooks.filter(event({ appUserId: null, kind: null, type: 'TEST' }), {})?.rule).toBe('unsupported_type');
    expect(hooks.filter(event({ kind: 'expiration', type: 'EXPIRATION' }), { eventNames: { expiration: null } })?.rule).toBe(
      'event_disabled',
    );
  });

  it('filter: takes events without a user when the destination does not require one', () => {
    const lax = standardEventHooks<Settings>('sample', capabilities);
    expect(lax.filter(event({ appUserId: null }), {})).toBeUndefined();
  });

  it('filter: asks the plugin whether sandbox credentials are set', () => {
    const separate = { ...capabilities, sandbox: 'separate-credentials' as const };
    const sandboxed = standardEventHooks<Settings>('sample', separate, { hasSandboxCredentials: (s) => s.sandboxKey !== undefined });
    expect(sandboxed.filter(event({ environment: 'SANDBOX' }), {})?.rule).toBe('sandbox_without_credentials');
    expect(sandboxed.filter(event({ environment: 'SANDBOX' }), { sandboxKey: 'k' })).toBeUndefined();
  });

  it('eventName: follows the overrides, and throws for an event the filter skips', () => {
    expect(hooks.eventName(event({}), { eventNames: { renewal: 'Renewed' } })).toBe('Renewed');
    expect(() => hooks.eventName(event({ kind: 'expiration', type: 'EXPIRATION' }), { eventNames: { expiration: null } })).toThrow(
      'sample: no event name for expiration; filter() skips such events',
    );
    expect(() => hooks.eventName(event({ kind: null, type: 'TEST' }), {})).toThrow('sample: no event name for TEST');
  });

  it('attributeIgnoringCase: the first non-empty attribute of that name in any case; longer or shorter names never match', () => {
    const attributes = { $clevertapIdOld: 'old', $clevertapI: 'short', $CLEVERTAPID: '', $cleverTapId: 'ct-1', $clevertapId: 'ct-2' };
    expect(attributeIgnoringCase(event({ attributes }), '$clevertapId')).toBe('ct-1');
    expect(attributeIgnoringCase(event({ attributes: { $clevertapIdOld: 'old', $CLEVERTAPID: '' } }), '$clevertapId')).toBeUndefined();
  });
});

describe('retry policy', () => {
  it('backs off exponentially within the cap and honours Retry-After', () => {
    const half = () => 0.5;
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 1, half)).toBe(750);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 3, half)).toBe(3000);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 40, () => 1)).toBe(DEFAULT_RETRY_POLICY.maxDelayMs);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 1, half, 7000)).toBe(7000);
  });
  it('takes the longer of the backoff and Retry-After, each within its cap, so Retry-After: 0 cannot switch backoff off', () => {
    const half = () => 0.5;
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 3, half, 0)).toBe(3000);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 3, half, 1000)).toBe(3000);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 3, half, -5000)).toBe(3000);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 40, () => 1, 0)).toBe(DEFAULT_RETRY_POLICY.maxDelayMs);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 1, half, 10 * 3_600_000)).toBe(DEFAULT_RETRY_POLICY.maxRetryAfterMs);
  });
  it('gives up only when both attempts and age are exhausted', () => {
    const p = DEFAULT_RETRY_POLICY;
    expect(retriesExhausted(p, p.maxAttempts, 0, p.maxAgeMs - 1)).toBe(false);
    expect(retriesExhausted(p, p.maxAttempts - 1, 0, p.maxAgeMs)).toBe(false);
    expect(retriesExhausted(p, p.maxAttempts, 0, p.maxAgeMs)).toBe(true);
  });
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});

describe('standard failure outcomes', () => {
  const request: DeliveryRequest = { method: 'POST', url: 'http://x', headers: {}, body: '', deliveryIds: ['a', 'b'], concurrencyKey: 'k' };
  it.each([
    [{ kind: 'timeout', message: 't' } as const, 'retry'],
    [{ kind: 'response', status: 401, headers: {}, body: '' } as const, 'auth_failed'],
    [{ kind: 'response', status: 403, headers: {}, body: '' } as const, 'auth_failed'],
    [{ kind: 'response', status: 429, headers: {}, body: '' } as const, 'retry'],
    [{ kind: 'response', status: 503, headers: {}, body: '<html>' } as const, 'retry'],
    [{ kind: 'response', status: 400, headers: {}, body: '{}' } as const, 'rejected'],
  ])('%j → %s for every delivery', (result, type) => {
    const outcomes = standardFailureOutcomes(request, result, 0);
    expect(outcomes.map((o) => [o.deliveryId, o.type])).toEqual([
      ['a', type],
      ['b', type],
    ]);
  });
  it('carries Retry-After', () => {
    const [o] = standardFailureOutcomes(request, { kind: 'response', status: 429, headers: { 'Retry-After': '2' }, body: '' }, 0);
    expect(o).toMatchObject({ type: 'retry', retryAfterMs: 2000 });
  });
});

describe('redaction and paths', () => {
  it('redacts secret keys and secret values', () => {
    expect(redactSettings({ passcode: 'p4ss-word', accountId: 'A' }, ['passcode'])).toEqual({ passcode: '[redacted]', accountId: 'A' });
    expect(redactText('x-passcode: p4ss-word!', ['p4ss-word'])).toBe('x-passcode: [redacted]!');
  });
  it('collects the secret values that are set', () => {
    expect(secretSettingValues({ passcode: 'p4ss-word', sandboxPasscode: '', accountId: 'A' }, ['passcode', 'sandboxPasscode'])).toEqual(
      secretForms(['p4ss-word']),
    );
    expect(new Set(secretSettingValues({ key: 'a b"c', nested: { token: 't0k3n' } }, ['key', 'nested']))).toEqual(
      new Set(['a b"c', 'a b\\"c', 'a%20b%22c', 'a+b%22c', 't0k3n']),
    );
    expect(secretSettingValues(undefined, ['passcode'])).toEqual([]);
  });
  it('redacts a secret of any length, and nothing for an empty one', () => {
    expect(redactText('pin abc, code abcd', ['abc'])).toBe('pin [redacted], code [redacted]d');
    expect(redactText('unchanged', [''])).toBe('unchanged');
  });
  it('scrubs the forms a secret is echoed in: JSON-escaped, URL- and form-encoded, base64 at any offset', () => {
    const secret = 'p4ss/w"rd +ü?';
    const basic = (user: string) => Buffer.from(`${user}:${secret}`).toString('base64');
    const echoes = [
      JSON.stringify({ passcode: secret }),
      `https://x.test/?key=${encodeURIComponent(secret)}`,
      new URLSearchParams({ key: secret }).toString(),
      ...['u', 'us', 'use'].map((user) => `Authorization: Basic ${basic(user)}`),
      Buffer.from(secret).toString('base64url'),
      `token=${Buffer.from(`xx${secret}yy`).toString('base64url')}`,
    ];
    const forms = secretForms([secret]);
    for (const echo of echoes) {
      const redacted = redactText(echo, forms);
      expect(redacted).toContain(REDACTED);
      // What is left of a base64 run around the secret decodes to at most a few of its bits, never to the secret.
      expect(redacted).not.toContain(secret);
      for (const [run] of redacted.matchAll(/[A-Za-z0-9+/_-]{4,}/g))
        expect(Buffer.from(run, 'base64').toString('latin1')).not.toMatch(/4ss|w"r/);
    }
    expect(forms).toEqual([...forms].sort((a, b) => b.length - a.length));
  });
  it('redacts a request everywhere a secret can sit, keeping the rest', () => {
    const request: DeliveryRequest = {
      method: 'POST',
      url: 'https://x.test/upload?key=p4ss-word',
      headers: { 'X-Passcode': 'p4ss-word', 'Content-Type': 'application/json' },
      body: '{"token":"p4ss-word"}',
      deliveryIds: ['a'],
      concurrencyKey: 'acct-p4ss-word',
      warnings: ['dropped p4ss-word'],
    };
    expect(redactRequest(request, ['p4ss-word'])).toEqual({
      ...request,
      url: 'https://x.test/upload?key=[redacted]',
      headers: { 'X-Passcode': '[redacted]', 'Content-Type': 'application/json' },
      body: '{"token":"[redacted]"}',
      concurrencyKey: 'acct-[redacted]',
      warnings: ['dropped [redacted]'],
    });
    const { warnings: _none, ...withoutWarnings } = request;
    expect(redactRequest(withoutWarnings, [])).not.toHaveProperty('warnings');
  });
  it('formats paths the way the config errors name them', () => {
    expect(formatPath(['destinations', 0, 'settings', 'region'])).toBe('destinations[0].settings.region');
  });
});
