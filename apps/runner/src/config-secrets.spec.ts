import { z } from 'zod';
import { REDACTED, secret, type AnyDestinationPlugin, type AnySourcePlugin } from '@ferry/core';
import { revenueCatSource } from '@ferry/revenuecat';
import { amplitudePlugin } from '@ferry/amplitude';
import { clevertapPlugin } from '@ferry/clevertap';
import { parseConfig, type ConfigPlugins } from './config';
import { configSecrets } from './config-secrets';
import { createRunnerContainer, RUNNER_TOKENS } from './container';
import { sourcePlugins } from './plugins';

const plugins: ConfigPlugins = { destinations: [clevertapPlugin, amplitudePlugin], sources: sourcePlugins };

const clevertap = (settings: Record<string, unknown> = {}) => ({
  id: 'ct',
  plugin: 'clevertap',
  settings: { accountId: 'ACC', passcode: 'pass-0123456789', ...settings },
});

describe('configSecrets', () => {
  it('collects every secret value: authorization (and its token), admin token, plugin secrets, the database password', () => {
    const config = parseConfig(
      {
        server: { adminToken: 'admin-token-0123456789' },
        store: { url: 'postgres://ferry:db%40pass@db/ferry' },
        sources: { revenuecat: { authorization: 'Bearer hook-token' } },
        destinations: [clevertap({ sandboxAccountId: 'SB', sandboxPasscode: 'sandbox-pass' })],
      },
      plugins,
      {},
    );
    expect(configSecrets(config)).toEqual(
      expect.arrayContaining(['Bearer hook-token', 'hook-token', 'admin-token-0123456789', 'pass-0123456789', 'sandbox-pass', 'db@pass']),
    );
    expect(configSecrets(config)).not.toContain('ACC');
  });

  it('treats alert target URLs as secrets, and a Slack webhook path on its own too', () => {
    const slack = 'https://hooks.slack.com/services/T000/B000/slack-secret-xyz';
    const config = parseConfig({ alerts: { targets: [{ url: slack, format: 'slack' }] } }, plugins, {});
    expect(configSecrets(config)).toEqual(expect.arrayContaining([slack, '/services/T000/B000/slack-secret-xyz']));
  });

  it("takes each destination's secrets from its own plugin's schema, and nothing else of the config", () => {
    const config = parseConfig(
      {
        destinations: [
          clevertap(),
          { id: 'amp', plugin: 'amplitude', settings: { apiKey: 'amp-key-7Hq2Lx9c', sandboxApiKey: 'amp-sandbox-4Rt8Wz1e' } },
        ],
      },
      plugins,
      {},
    );
    expect(configSecrets(config).sort()).toEqual(['amp-key-7Hq2Lx9c', 'amp-sandbox-4Rt8Wz1e', 'pass-0123456789']);
  });
});

describe('a key marked secret in the schema', () => {
  it("is redacted with no list to update, wherever it sits in a plugin's settings", () => {
    // A plugin whose secret is nested, and which lists no top-level `secrets`: the mark alone counts.
    const nested = {
      ...clevertapPlugin,
      id: 'nested',
      settings: z.strictObject({ auth: z.strictObject({ user: z.string(), token: secret(z.string()) }).optional() }),
      secrets: [],
    } as unknown as AnyDestinationPlugin;
    const config = parseConfig(
      { destinations: [{ id: 'n', plugin: 'nested', settings: { auth: { user: 'visible-user', token: 'nested-token-3Vb8' } } }] },
      { destinations: [nested], sources: sourcePlugins },
      {},
    );
    expect(configSecrets(config)).toEqual(['nested-token-3Vb8']);
  });

  it("is found with no list to update in every source instance, each by its own plugin's schema, in either form", () => {
    // A second source plugin whose secret has another name and is marked as a whole value.
    const signed = {
      ...revenueCatSource,
      id: 'signed',
      settings: z.strictObject({ signingSecret: secret(z.string()).optional(), account: z.string().optional() }),
    } as unknown as AnySourcePlugin;
    const both: ConfigPlugins = { destinations: [clevertapPlugin], sources: [revenueCatSource, signed] };
    const listed = parseConfig(
      {
        sources: [
          { id: 'app-one', plugin: 'revenuecat', settings: { authorization: 'Bearer app-one-9Kd3Lq' } },
          { id: 'app-two', plugin: 'revenuecat', settings: { authorization: 'Bearer app-two-2Xv7Np' } },
          { id: 'billing', plugin: 'signed', settings: { signingSecret: 'whsec_5Jm8Qr1t', account: 'acct_visible' } },
        ],
        destinations: [clevertap()],
      },
      both,
      {},
    );
    expect(configSecrets(listed).sort()).toEqual(
      ['Bearer app-one-9Kd3Lq', 'app-one-9Kd3Lq', 'Bearer app-two-2Xv7Np', 'app-two-2Xv7Np', 'whsec_5Jm8Qr1t', 'pass-0123456789'].sort(),
    );
    const byPlugin = parseConfig({ sources: { signed: { signingSecret: 'whsec_8Nc2Wd4y' } } }, both, {});
    expect(configSecrets(byPlugin)).toEqual(['whsec_8Nc2Wd4y']);
  });
});

describe("the runner's logger and redactor", () => {
  const ADMIN_TOKEN = 'adm-7Qx2-Lp9v-Wz4k';
  const CREDENTIAL = 'rc-hook-5Tg8-Kq2m';
  // A password whose percent-encoding is broken (`%zz`): it is redacted as written.
  const STORE_PASSWORD = 'pg%zzQ7w-Lm3x';
  const ALERT_PATH = '/services/T0A1/B0B2/alert-secret-path-9d1';
  const ALERT_URL = `https://hooks.slack.com${ALERT_PATH}`;
  const PASSCODE = 'ct-pass-8Fh3-Nc6y';
  const SECRETS = [ADMIN_TOKEN, CREDENTIAL, STORE_PASSWORD, ALERT_PATH, PASSCODE];

  it('scrub every part the schema marks secret from a log line and from outgoing text', () => {
    const services = createRunnerContainer(
      {
        server: { adminToken: ADMIN_TOKEN },
        store: { url: `postgres://ferry:${STORE_PASSWORD}@db.internal/ferry` },
        sources: { revenuecat: { authorization: `Bearer ${CREDENTIAL}` } },
        destinations: [clevertap({ passcode: PASSCODE })],
        alerts: { targets: [{ url: ALERT_URL, format: 'slack' }] },
      },
      {},
    );
    const lines: string[] = [];
    services.replaceValue(RUNNER_TOKENS.LogStream, { write: (line: string) => lines.push(line) });

    const text = `token ${ADMIN_TOKEN}, credential ${CREDENTIAL}, password ${STORE_PASSWORD}, path ${ALERT_PATH}, passcode ${PASSCODE}`;
    services.get(RUNNER_TOKENS.Logger).warn({ detail: text }, text);
    const outgoing = services.get(RUNNER_TOKENS.Redact)(text);

    for (const [where, output] of Object.entries({ log: lines.join('\n'), outgoing })) {
      expect({ where, leaked: SECRETS.filter((value) => output.includes(value)) }).toEqual({ where, leaked: [] });
      expect(output).toContain(REDACTED);
    }
    // What is not secret stays readable: the database host, the alert host.
    expect(services.get(RUNNER_TOKENS.Redact)('db.internal hooks.slack.com')).toBe('db.internal hooks.slack.com');
  });
});
