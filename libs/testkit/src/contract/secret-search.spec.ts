import { findSecret } from './secret-search';

const secrets = [{ key: 'passcode', value: 'pass code+0001' }];

describe('findSecret', () => {
  it('finds a secret verbatim, URL-encoded, and inside base64 credentials, naming only its key', () => {
    expect(findSecret('x-passcode: pass code+0001', secrets)).toBe('secret "passcode" verbatim');
    expect(findSecret('/upload?key=pass%20code%2B0001', secrets)).toBe('secret "passcode" URL-encoded');
    const basic = `Basic ${Buffer.from('account:pass code+0001').toString('base64')}`;
    expect(findSecret(JSON.stringify({ authorization: basic }), secrets)).toBe('secret "passcode" base64-encoded');
    const urlSafe = Buffer.from('??>pass code+0001').toString('base64url');
    expect(findSecret(`token=${urlSafe}`, secrets)).toBe('secret "passcode" base64-encoded');
  });

  it('finds nothing in text without the secret', () => {
    expect(findSecret('x-passcode: [redacted] YWNjb3VudDpvdGhlcg==', secrets)).toBeUndefined();
    expect(findSecret('anything', [])).toBeUndefined();
  });
});
