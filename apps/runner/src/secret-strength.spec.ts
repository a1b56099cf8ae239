import { readFileSync } from 'node:fs';
import path from 'node:path';
import { clevertapPlugin } from '@ferry/clevertap';
import { sourcePlugins } from './plugins';
import { ConfigError, parseConfig, readConfigFile, type ConfigPlugins } from './config';
import { DEMO_SECRETS, weakSecretReason } from './secret-strength';

const plugins: ConfigPlugins = { destinations: [clevertapPlugin], sources: sourcePlugins };
const REPOSITORY = path.resolve(__dirname, '../../..');

/** deploy/.env.example as the environment compose gives the runners (deploy/compose.yaml builds FERRY_STORE_URL). */
function envExample(): NodeJS.ProcessEnv {
  const text = readFileSync(path.join(REPOSITORY, 'deploy/.env.example'), 'utf8');
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { ...env, FERRY_STORE_URL: `postgres://ferry:${env.POSTGRES_PASSWORD}@postgres:5432/ferry` };
}

/** The `path: message` lines of the ConfigError `input` causes under `env` ([] when it is valid). */
function problems(input: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(input, plugins, env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
}

const clevertap = (passcode: string) => ({ id: 'ct', plugin: 'clevertap', settings: { accountId: 'ACC', passcode } });

describe('placeholder and weak secrets', () => {
  it("refuse the container config filled from deploy/.env.example's placeholders, naming each path and never a value", () => {
    const env = envExample();
    const container = readConfigFile({ path: path.join(REPOSITORY, 'deploy/ferry.config.container.json'), example: false });
    const lines = problems(container, env);
    expect(lines).toEqual([
      expect.stringMatching(/^server\.adminToken: is a documented placeholder, not a secret: generate one/),
      expect.stringMatching(
        /^sources\.revenuecat\.authorization: its credential \(after a scheme such as "Bearer "\) is a documented placeholder/,
      ),
      expect.stringMatching(/^store\.url: its password is a documented placeholder/),
    ]);
    expect(lines.join('\n')).not.toMatch(/change-me/i);
    // With real values the same config is fine (the CleverTap credentials may still be empty: not set yet).
    const real = {
      ...env,
      FERRY_ADMIN_TOKEN: 'f4a1c9e27b3d8056aa19',
      RC_WEBHOOK_AUTHORIZATION: 'Bearer 7c2e9b41d0f3a8c5',
      CLEVERTAP_PASSCODE: 'WQE-KSA-ZUTL',
    };
    expect(problems(container, { ...real, FERRY_STORE_URL: 'postgres://ferry:q8Zr2LmX7pVt@postgres:5432/ferry' })).toEqual([]);
  });

  it("take the README walkthrough's demo values on loopback only", () => {
    const walkthrough = {
      server: { host: '127.0.0.1', adminToken: 'demo-admin-token-0123456789' },
      sources: { revenuecat: { authorization: 'Bearer demo-webhook-token' } },
      destinations: [clevertap('demo-passcode')],
    };
    expect(problems(walkthrough)).toEqual([]);
    const lines = problems({ ...walkthrough, server: { ...walkthrough.server, host: '0.0.0.0' } });
    expect(lines).toEqual([
      expect.stringMatching(/^server\.adminToken: is the README walkthrough's demo value, accepted only while server\.host is loopback/),
      expect.stringMatching(/^sources\.revenuecat\.authorization: its credential .* is the README walkthrough's demo value/),
      expect.stringMatching(/^destinations\[0\]\.settings\.passcode: is the README walkthrough's demo value/),
    ]);
    for (const demo of DEMO_SECRETS) expect(lines.join('\n')).not.toContain(demo);
  });

  it.each([['YOUR-PASSCODE'], ['your_api_key_here'], ['3f9c…'], ['ChangeMe2024!x']])('refuse the placeholder %j everywhere', (value) => {
    expect(weakSecretReason(value, false)).toMatch(/^is a documented placeholder/);
  });

  it.each([
    ['one character', 'aaaaaaaaaaaaaaaa'],
    ['four different characters', 'abcdabcdddccbbaa'],
    ['a repeated pattern', 'k3J9xk3J9xk3J9xk'],
    ['a plain sequence', 'abcdefghijklmnop'],
    ['a sequence down', 'zyxwvutsrqponmlk'],
  ])('refuse a secret of too little variety (%s) everywhere, never quoting it', (_what, value) => {
    const lines = problems({ server: { adminToken: value }, destinations: [clevertap(value)] });
    expect(lines).toEqual([
      expect.stringMatching(/^server\.adminToken: has too little variety/),
      expect.stringMatching(/^destinations\[0\]\.settings\.passcode: has too little variety/),
    ]);
    expect(lines.join('\n')).not.toContain(value);
  });

  it('take generated secrets and real-looking vendor credentials', () => {
    for (const value of ['3f9c2a7e1b8d4c60', 'WQE-KSA-ZUTL', 'pass-0123456789', 'k3J9x-2q', 'admin-token-8e3b6c0f4d2a9157']) {
      expect({ value, reason: weakSecretReason(value, true) }).toEqual({ value, reason: undefined });
    }
  });
});
