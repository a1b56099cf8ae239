import { z } from 'zod';
import { credentialOf, markedSecrets, secret, secretSettingKeys, secretStrings, urlPasswordOf } from './index';

/** Two plugins' instances in one list, each with its own settings schema: the shape of a list of sources or destinations. */
const tokenPlugin = z.object({
  id: z.string(),
  plugin: z.literal('token'),
  settings: z.object({ token: secret(z.string()), region: z.string() }),
});
const keysPlugin = z.object({
  id: z.string(),
  plugin: z.literal('keys'),
  settings: z.object({ token: z.string(), keys: secret(z.record(z.string(), z.string())).optional() }),
});
const fragment = z.object({
  server: z.object({ token: secret(z.string()).optional(), name: z.string().default('') }).prefault({}),
  instances: z.array(z.discriminatedUnion('plugin', [tokenPlugin, keysPlugin])).default([]),
  hooks: z.record(z.string(), z.object({ url: secret(z.url(), ['value', 'urlPath']) })).default({}),
});

describe('markedSecrets', () => {
  const parsed = fragment.parse({
    server: { token: 'server-token-1234', name: 'visible-name' },
    instances: [
      { id: 'a', plugin: 'token', settings: { token: 'instance-token-5678', region: 'eu' } },
      // `token` is no secret in this plugin's schema: the value's plugin picks the schema that applies.
      { id: 'b', plugin: 'keys', settings: { token: 'not-a-secret-here', keys: { one: 'key-one-abcdef', two: 'key-two-ghijkl' } } },
    ],
    hooks: { slack: { url: 'https://hooks.example.com/services/T0/B0/hook-secret' } },
  });

  it('finds every marked value, in nested objects, lists, records and the option a discriminator picks', () => {
    expect(markedSecrets(fragment, parsed).map(({ path, parts }) => ({ path: path.join('.'), parts }))).toEqual([
      { path: 'server.token', parts: ['value'] },
      { path: 'instances.0.settings.token', parts: ['value'] },
      { path: 'instances.1.settings.keys', parts: ['value'] },
      { path: 'hooks.slack.url', parts: ['value', 'urlPath'] },
    ]);
    expect(secretStrings(markedSecrets(fragment, parsed))).toEqual([
      'server-token-1234',
      'instance-token-5678',
      'key-one-abcdef',
      'key-two-ghijkl',
      'https://hooks.example.com/services/T0/B0/hook-secret',
      '/services/T0/B0/hook-secret',
    ]);
  });

  it('skips unset values', () => {
    expect(markedSecrets(fragment, fragment.parse({}))).toEqual([]);
  });

  it('refuses a value that is not the schema output, rather than missing its secrets', () => {
    const resolved = { ...parsed, instances: [{ ...parsed.instances[0], plugin: { id: 'token' } }] };
    expect(() => markedSecrets(fragment, resolved)).toThrow('no option of the schema at "instances.0" has plugin {"id":"token"}');
  });

  it('looks through wrappers and pipes, and keeps a plugin settings schema`s secret keys as they were', () => {
    const settings = z.strictObject({
      apiKey: secret(z.string()).optional().describe('key'),
      count: z.preprocess((value) => Number(value), z.number()),
      trimmed: secret(z.string()).transform((value) => value.trim()),
    });
    expect(secretSettingKeys(settings)).toEqual(['apiKey', 'trimmed']);
    expect(
      secretStrings(markedSecrets(settings, settings.parse({ apiKey: 'api-key-123456', count: '3', trimmed: ' padded-secret ' }))),
    ).toEqual(['api-key-123456', 'padded-secret']);
  });
});

describe('secret parts', () => {
  const strings = (parts: Parameters<typeof secret>[1], value: string) => {
    const schema = z.object({ key: secret(z.string(), parts) });
    return secretStrings(markedSecrets(schema, { key: value }));
  };

  it('credential: the value and its credential after the scheme', () => {
    expect(strings(['value', 'credential'], 'Bearer hook-token-123')).toEqual(['Bearer hook-token-123', 'hook-token-123']);
    expect(credentialOf('no-scheme-token')).toBe('no-scheme-token');
  });

  it('urlPassword: only the password, as written and decoded, even when its encoding is broken', () => {
    expect(strings(['urlPassword'], 'postgres://ferry:db%40pass-123@db/ferry')).toEqual(['db%40pass-123', 'db@pass-123']);
    expect(strings(['urlPassword'], 'postgres://ferry:broken%zzpass@db/ferry')).toEqual(['broken%zzpass']);
    expect(strings(['urlPassword'], 'sqlite:./data/ferry.db')).toEqual([]);
    expect(urlPasswordOf('postgresql://user@db/ferry')).toBeUndefined();
  });

  it('urlPath: the path and query too, unless too short to be told from ordinary text', () => {
    expect(strings(['value', 'urlPath'], 'https://alerts.example.com/hook?key=k3J9x')).toEqual([
      'https://alerts.example.com/hook?key=k3J9x',
      '/hook?key=k3J9x',
    ]);
    expect(strings(['value', 'urlPath'], 'https://alerts.example.com/a')).toEqual(['https://alerts.example.com/a']);
  });
});
