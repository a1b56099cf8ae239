import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_RETRY_POLICY } from '@ferry/core';
import { amplitudePlugin } from '@ferry/amplitude';
import { clevertapPlugin } from '@ferry/clevertap';
import { revenueCatSource } from '@ferry/revenuecat';
import { sourcePlugins } from './plugins';
import {
  ConfigError,
  configJsonSchema,
  configNotes,
  locateConfig,
  parseConfig,
  readConfigFile,
  retryPolicy,
  type ConfigPlugins,
} from './config';
import { EXAMPLE_CONFIG_PATH } from './shipped-files';

const plugins: ConfigPlugins = { destinations: [clevertapPlugin], sources: sourcePlugins };

/** The lines of the ConfigError that `input` causes. */
function problems(input: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(input, plugins, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const clevertap = (settings: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  id: 'ct',
  plugin: 'clevertap',
  settings: { accountId: 'ACC', passcode: 'pass-0123456789', ...settings },
  ...extra,
});

describe('parseConfig', () => {
  it('applies the documented defaults to an empty config', () => {
    const config = parseConfig({}, plugins, {});
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 1_048_576,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1_000,
      maxConnectionsPerClient: 100,
      allowedHosts: [],
    });
    expect(config.store.url).toBe('sqlite:./data/ferry.db');
    expect(config.sources).toEqual([{ id: 'revenuecat', plugin: revenueCatSource, settings: {} }]);
    expect(config.destinations).toEqual([]);
    expect(config.log.level).toBe('info');
    expect(retryPolicy(config)).toEqual(DEFAULT_RETRY_POLICY);
    expect(config.delivery.leaseMs).toBe(60_000);
  });

  it('turns a destination into an instance with parsed settings, default concurrency and timeout', () => {
    const [destination] = parseConfig({ destinations: [clevertap()] }, plugins, {}).destinations;
    expect(destination.id).toBe('ct');
    expect(destination.plugin).toBe(clevertapPlugin);
    expect(destination.concurrency).toBe(4);
    expect(destination.timeoutMs).toBe(10_000);
    expect(destination.settings).toMatchObject({ region: 'eu1', salesReporting: 'gross', accountId: 'ACC' });
  });

  it('maps the delivery section onto the retry policy', () => {
    const config = parseConfig({ delivery: { maxAttempts: 3, maxAgeHours: 0.5, baseDelayMs: 10, maxDelayMs: 50 } }, plugins, {});
    expect(retryPolicy(config)).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 3, maxAgeMs: 1_800_000, baseDelayMs: 10, maxDelayMs: 50 });
  });

  it('substitutes ${VAR} anywhere in a string, numbers included', () => {
    const env = { RC_TOKEN: 'tok-12345', CT_PASSCODE: 'from-env-passcode', PORT: '9090' };
    const config = parseConfig(
      {
        server: { port: '${PORT}' },
        sources: { revenuecat: { authorization: 'Bearer ${RC_TOKEN}' } },
        destinations: [clevertap({ passcode: '${CT_PASSCODE}' })],
      },
      plugins,
      env,
    );
    expect(config.server.port).toBe(9090);
    expect(config.sources[0].settings).toEqual({ authorization: 'Bearer tok-12345' });
    expect(config.destinations[0].settings).toMatchObject({ passcode: 'from-env-passcode' });
  });

  it('names the path and the variable when an environment variable is missing, once', () => {
    expect(problems({ destinations: [clevertap({ passcode: '${CT_PASSCODE}' })] })).toEqual([
      'destinations[0].settings.passcode: environment variable CT_PASSCODE is not set',
    ]);
    expect(problems({ server: { port: '${PORT}' } })).toEqual(['server.port: environment variable PORT is not set']);
    expect(problems({ destinations: [clevertap({ region: '${REGION}' })] })).toEqual([
      'destinations[0].settings.region: environment variable REGION is not set',
    ]);
  });

  it('reports every problem at once, each with its path', () => {
    const lines = problems({
      server: { port: 70_000, adminTokn: 'x' },
      store: { url: 'mysql://db' },
      destinations: [clevertap({ region: 'mars1' }), clevertap({ colour: 'red' }, { id: 'ct2', concurrency: 0 })],
      log: { level: 'loud' },
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        'server.adminTokn: unknown key',
        'store.url: must be sqlite:PATH or postgres://…',
        expect.stringMatching(/^destinations\[0\]\.settings\.region: unknown region "mars1"; valid regions: eu1, in1/),
        expect.stringMatching(/^destinations\[1\]\.concurrency: /),
        'destinations[1].settings.colour: unknown key',
        expect.stringMatching(/^log\.level: /),
      ]),
    );
    expect(lines).toHaveLength(7);
  });

  it('checks across sections even when a plugin setting is wrong', () => {
    expect(problems({ server: { host: '0.0.0.0' }, destinations: [clevertap({ region: 'mars1' }), clevertap()] })).toEqual([
      expect.stringMatching(/^destinations\[0\]\.settings\.region: unknown region "mars1"/),
      'sources.revenuecat.authorization: required when server.host (0.0.0.0) is not a loopback address',
    ]);
  });

  it('rejects duplicate destination ids', () => {
    expect(problems({ destinations: [clevertap(), clevertap()] })).toEqual(['destinations[1].id: duplicate id "ct"']);
  });

  describe('sources and routes', () => {
    const ios = { id: 'ios', plugin: 'revenuecat', settings: { authorization: 'Bearer ios-token-7Kq2' } };
    const android = { id: 'android', plugin: 'revenuecat', settings: { authorization: 'Bearer android-token-3Wz9' } };

    it('takes a list of sources, or the object form as one source named by its plugin', () => {
      const listed = parseConfig({ sources: [ios, android] }, plugins, {});
      expect(listed.sources.map(({ id, plugin, settings }) => ({ id, plugin: plugin.id, settings }))).toEqual([
        { id: 'ios', plugin: 'revenuecat', settings: { authorization: 'Bearer ios-token-7Kq2' } },
        { id: 'android', plugin: 'revenuecat', settings: { authorization: 'Bearer android-token-3Wz9' } },
      ]);
      const byPlugin = parseConfig({ sources: { revenuecat: { authorization: 'Bearer one-token-5Hd8' } } }, plugins, {});
      expect(byPlugin.sources.map(({ id, settings }) => ({ id, settings }))).toEqual([
        { id: 'revenuecat', settings: { authorization: 'Bearer one-token-5Hd8' } },
      ]);
    });

    it("names each problem of a source at its path, in either form, checked by its plugin's own schema", () => {
      expect(
        problems({
          sources: [ios, { ...ios }, { id: 'web', plugin: 'stripe' }, { ...android, settings: { authorization: 'Bearer short' } }],
        }),
      ).toEqual([
        'sources[2].plugin: unknown plugin "stripe"; known plugins: revenuecat',
        expect.stringMatching(
          /^sources\[3\]\.settings\.authorization: its credential \(after a scheme such as "Bearer "\) must be at least 8/,
        ),
      ]);
      expect(problems({ sources: [ios, { ...ios }] })).toEqual(['sources[1].id: duplicate id "ios"']);
      expect(problems({ sources: [{ ...ios, id: 'i/o' }] })).toEqual([expect.stringMatching(/^sources\[0\]\.id: letters, digits/)]);
      expect(problems({ sources: [] })).toEqual(['sources: must name at least one source']);
      expect(problems({ sources: { stripe: {} } })).toEqual(['sources.stripe: unknown key', 'sources: must name at least one source']);
      expect(problems({ sources: 'revenuecat' })).toEqual([expect.stringMatching(/^sources: must be a list of sources/)]);
    });

    it('requires every source to check a credential beyond loopback, naming its setting', () => {
      const open = { server: { host: '0.0.0.0' } };
      expect(problems({ ...open, sources: [ios, { ...android, settings: {} }] })).toEqual([
        'sources[1].settings.authorization: required when server.host (0.0.0.0) is not a loopback address',
      ]);
      expect(problems({ ...open, sources: { revenuecat: {} } })).toEqual([
        'sources.revenuecat.authorization: required when server.host (0.0.0.0) is not a loopback address',
      ]);
      expect(parseConfig({ ...open, sources: [ios, android] }, plugins, {}).server.host).toBe('0.0.0.0');
    });

    it("refuses a placeholder in any source's secret, whatever its form", () => {
      expect(problems({ sources: [ios, { ...android, settings: { authorization: 'Bearer change-me-please' } }] })).toEqual([
        expect.stringMatching(
          /^sources\[1\]\.settings\.authorization: its credential \(after a scheme such as "Bearer "\) is a documented placeholder/,
        ),
      ]);
    });

    it('gives a destination its route, whose sources must be configured and whose lists name at least one', () => {
      const routed = clevertap({}, { sources: ['ios'], filter: { kinds: ['renewal'], products: ['com.example.*'] } });
      const [destination] = parseConfig({ sources: [ios, android], destinations: [routed] }, plugins, {}).destinations;
      expect(destination.route).toEqual({ sources: ['ios'], filter: { kinds: ['renewal'], products: ['com.example.*'] } });
      expect(parseConfig({ destinations: [clevertap()] }, plugins, {}).destinations[0].route).toBeUndefined();
      expect(
        problems({
          sources: [ios],
          destinations: [
            clevertap({}, { sources: ['ios', 'andriod'], filter: { kinds: ['renewal', 'refund'], stores: [], colour: ['red'] } }),
          ],
        }),
      ).toEqual([
        expect.stringMatching(/^destinations\[0\]\.filter\.stores: must name at least one/),
        expect.stringMatching(/^destinations\[0\]\.filter\.kinds\[1\]: /),
        'destinations[0].filter.colour: unknown key',
      ]);
      expect(problems({ sources: [ios], destinations: [clevertap({}, { sources: ['ios', 'andriod'] })] })).toEqual([
        'destinations[0].sources[1]: unknown source "andriod"; configured sources: ios',
      ]);
    });
  });

  it('lists the known plugins for an unknown one', () => {
    expect(problems({ destinations: [{ id: 'a', plugin: 'mixpanel' }] })).toEqual([
      'destinations[0].plugin: unknown plugin "mixpanel"; known plugins: clevertap',
    ]);
  });

  it('takes a lease length that outlasts every request', () => {
    expect(parseConfig({ delivery: { leaseMs: '${LEASE_MS}' } }, plugins, { LEASE_MS: '5000' }).delivery.leaseMs).toBe(5_000);
    expect(problems({ delivery: { leaseMs: 999 } })).toEqual([expect.stringMatching(/^delivery\.leaseMs: /)]);
    expect(
      problems({ delivery: { leaseMs: 10_000 }, destinations: [clevertap(), clevertap({}, { id: 'slow', timeoutMs: 30_000 })] }),
    ).toEqual(['delivery.leaseMs: must be at least 1.5 × the longest destinations[].timeoutMs (30000), i.e. 45000']);
    // The slow destination: a 3 s lease holds 2 s requests (renewed before each), a 2.9 s one cannot.
    expect(
      parseConfig({ delivery: { leaseMs: 3_000 }, destinations: [clevertap({}, { timeoutMs: 2_000 })] }, plugins, {}).delivery.leaseMs,
    ).toBe(3_000);
    expect(problems({ delivery: { leaseMs: 2_999 }, destinations: [clevertap({}, { timeoutMs: 2_000 })] })).toEqual([
      'delivery.leaseMs: must be at least 1.5 × the longest destinations[].timeoutMs (2000), i.e. 3000',
    ]);
  });

  it('takes a byte cap for batches of at least 1 KiB', () => {
    expect(parseConfig({}, plugins, {}).delivery.batchMaxBytes).toBe(4_194_304);
    expect(parseConfig({ delivery: { batchMaxBytes: '${CAP}' } }, plugins, { CAP: '2048' }).delivery.batchMaxBytes).toBe(2_048);
    expect(problems({ delivery: { batchMaxBytes: 1_023 } })).toEqual([expect.stringMatching(/^delivery\.batchMaxBytes: /)]);
    expect(problems({ delivery: { batchMaxBytes: 'lots' } })).toEqual([expect.stringMatching(/^delivery\.batchMaxBytes: /)]);
  });

  it("caps concurrency at the plugin's limit", () => {
    expect(problems({ destinations: [clevertap({}, { concurrency: 16 })] })).toEqual([
      'destinations[0].concurrency: at most 15 for clevertap',
    ]);
    expect(parseConfig({ destinations: [clevertap({}, { concurrency: 15 })] }, plugins, {}).destinations[0].concurrency).toBe(15);
  });

  it('refuses to listen beyond loopback without a webhook authorization value', () => {
    expect(problems({ server: { host: '0.0.0.0' } })).toEqual([
      'sources.revenuecat.authorization: required when server.host (0.0.0.0) is not a loopback address',
    ]);
    const open = { server: { host: '0.0.0.0' }, sources: { revenuecat: { authorization: 'Bearer long-enough' } } };
    expect(parseConfig(open, plugins, {}).server.host).toBe('0.0.0.0');
    expect(parseConfig({ server: { host: '::1' } }, plugins, {}).server.host).toBe('::1');
  });

  it('refuses secrets under 8 characters, naming the path and never the value', () => {
    const lines = problems({
      sources: { revenuecat: { authorization: 'Bearer 1234567' } },
      destinations: [clevertap({ passcode: 'pass123', sandboxAccountId: 'SB', sandboxPasscode: 'sb-1234' })],
    });
    expect(lines).toEqual([
      expect.stringMatching(
        /^sources\.revenuecat\.authorization: its credential \(after a scheme such as "Bearer "\) must be at least 8 characters: /,
      ),
      expect.stringMatching(/^destinations\[0\]\.settings\.passcode: must be at least 8 characters \(or empty while not yet set\): /),
      expect.stringMatching(/^destinations\[0\]\.settings\.sandboxPasscode: must be at least 8 characters/),
    ]);
    for (const secret of ['1234567', 'pass123', 'sb-1234']) expect(lines.join('\n')).not.toContain(secret);
    // 8 characters pass (varied ones: a plain sequence is refused as weak); an empty secret means "not set yet".
    const config = parseConfig(
      {
        sources: { revenuecat: { authorization: 'Bearer k3J9x-2q' } },
        destinations: [clevertap({ passcode: 'k3J9x-2q' }), clevertap({ passcode: '' }, { id: 'later' })],
      },
      plugins,
      {},
    );
    expect(config.destinations).toHaveLength(2);
  });

  it('accepts sqlite and postgres store URLs', () => {
    expect(parseConfig({ store: { url: 'postgres://u:p@db/ferry' } }, plugins, {}).store.url).toBe('postgres://u:p@db/ferry');
    expect(parseConfig({ store: { url: 'sqlite:/var/lib/ferry.db' } }, plugins, {}).store.url).toBe('sqlite:/var/lib/ferry.db');
  });

  it('never repeats a secret value in its messages', () => {
    const lines = problems({
      server: { adminToken: 'short' },
      destinations: [clevertap({ passcode: 'super-secret-passcode', region: 'nowhere', sandboxPasscode: 'sandbox-secret-value' })],
    });
    const text = lines.join('\n');
    expect(text).toContain('server.adminToken');
    expect(text).toContain('destinations[0].settings.region');
    expect(text).not.toContain('super-secret-passcode');
    expect(text).not.toContain('sandbox-secret-value');
    expect(text).not.toContain('short');
  });

  it('reads alerts with their defaults, and names each wrong alert field without echoing a target URL', () => {
    expect(parseConfig({}, plugins, {}).alerts).toEqual({ targets: [], intervalMinutes: 5, pendingMinutes: 15 });
    const slack = 'https://hooks.slack.com/services/T000/B000/slack-secret-xyz';
    expect(parseConfig({ alerts: { targets: [{ url: slack, format: 'slack' }], intervalMinutes: '1' } }, plugins, {}).alerts).toEqual({
      targets: [{ url: slack, format: 'slack' }],
      intervalMinutes: 1,
      pendingMinutes: 15,
    });
    const lines = problems({
      alerts: {
        targets: [{ url: 'ftp://example.com/slack-secret-xyz', format: 'slack' }, { url: slack, format: 'teams' }, { format: 'json' }],
        intervalMinutes: 0,
        pendingMinutes: 'soon',
        extra: true,
      },
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerts\.targets\[0\]\.url: /),
        expect.stringMatching(/^alerts\.targets\[1\]\.format: /),
        expect.stringMatching(/^alerts\.targets\[2\]\.url: /),
        expect.stringMatching(/^alerts\.intervalMinutes: /),
        expect.stringMatching(/^alerts\.pendingMinutes: /),
        expect.stringMatching(/^alerts\.extra: /),
      ]),
    );
    expect(lines.join('\n')).not.toContain('slack-secret-xyz');
  });

  it('is not a config at all when the input is not an object', () => {
    expect(problems([])[0]).toMatch(/^\(root\): /);
    expect(problems('config')[0]).toMatch(/^\(root\): /);
  });
});

interface TempDir {
  readonly path: string;
}

describe('config files', () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = { path: await mkdtemp(path.join(tmpdir(), 'ferry-config-')) };
  });
  afterEach(() => rm(dir.path, { recursive: true, force: true }));

  it('are found through --config, then FERRY_CONFIG, then ./ferry.config.json, then the example', async () => {
    expect(locateConfig('a.json', { FERRY_CONFIG: 'b.json' }, dir.path)).toEqual({ path: path.join(dir.path, 'a.json'), example: false });
    expect(locateConfig(undefined, { FERRY_CONFIG: 'b.json' }, dir.path)).toEqual({ path: path.join(dir.path, 'b.json'), example: false });
    expect(locateConfig(undefined, {}, dir.path)).toEqual({ path: EXAMPLE_CONFIG_PATH, example: true });
    await writeFile(path.join(dir.path, 'ferry.config.json'), '{}');
    expect(locateConfig(undefined, {}, dir.path)).toEqual({ path: path.join(dir.path, 'ferry.config.json'), example: false });
  });

  it('report unreadable files and invalid JSON as config errors', async () => {
    const missing = path.join(dir.path, 'missing.json');
    expect(() => readConfigFile({ path: missing, example: false })).toThrow(`(file): cannot read ${missing}: ENOENT`);
    const broken = path.join(dir.path, 'broken.json');
    await writeFile(broken, '{"server": ');
    expect(() => readConfigFile({ path: broken, example: false })).toThrow(/^\(file\): .*broken\.json is not valid JSON/);
  });

  it('the example validates, keeps to loopback and has a CleverTap destination without credentials', async () => {
    const example = await writeExampleVariant(dir, { server: { host: '0.0.0.0', port: 8080 } });
    const config = parseConfig(readConfigFile({ path: example, example: true }), plugins, {});
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.destinations.map((destination) => destination.plugin.id)).toEqual(['clevertap']);
    const notes = configNotes(config, { path: example, example: true });
    expect(notes.join('\n')).toMatch(/no config file found/);
    expect(notes.join('\n')).toMatch(/clevertap-main cannot send yet \(settings\.accountId and settings\.passcode are not set\)/);
    expect(notes.join('\n')).toMatch(/admin API is disabled/);
    expect(parseConfig(readConfigFile({ path: EXAMPLE_CONFIG_PATH, example: true }), plugins, {}).destinations).toHaveLength(1);
  });
});

/** The real example with some keys replaced, to prove the example path forces loopback. */
async function writeExampleVariant(dir: TempDir, changes: Record<string, unknown>): Promise<string> {
  const example = readConfigFile({ path: EXAMPLE_CONFIG_PATH, example: false }) as Record<string, unknown>;
  const file = path.join(dir.path, 'example.json');
  await writeFile(file, JSON.stringify({ ...example, ...changes }));
  return file;
}

describe('configJsonSchema', () => {
  const schema = configJsonSchema(plugins) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('describes every section with its defaults', () => {
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['server', 'store', 'sources', 'destinations', 'delivery', 'log']),
    );
    expect(schema.properties.server.properties.host.default).toBe('127.0.0.1');
    expect(schema.properties.server.properties.port.default).toBe(8080);
    expect(schema.properties.store.properties.url.default).toBe('sqlite:./data/ferry.db');
    expect(schema.properties.server.additionalProperties).toBe(false);
  });

  it('describes a destination per plugin, each with its own settings, straight from the one schema', () => {
    const [clevertapItem] = schema.properties.destinations.items.oneOf;
    expect(clevertapItem.properties.plugin.const).toBe('clevertap');
    expect(clevertapItem.required).toEqual(expect.arrayContaining(['id', 'plugin']));
    expect(clevertapItem.additionalProperties).toBe(false);
    const settings = clevertapItem.properties.settings;
    expect(settings.properties.region.enum).toEqual(expect.arrayContaining(['eu1', 'us1', 'in1']));
    expect(Object.keys(settings.properties)).toEqual(
      expect.arrayContaining(['accountId', 'passcode', 'endpoint', 'eventNames', 'salesReporting']),
    );
    expect(settings.$schema).toBeUndefined();
  });

  it('has one destination shape per plugin offered', () => {
    const both = configJsonSchema({ ...plugins, destinations: [clevertapPlugin, amplitudePlugin] }) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const items = both.properties.destinations.items.oneOf;
    expect(items.map((item: any) => item.properties.plugin.const)).toEqual(['clevertap', 'amplitude']); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(items[1].properties.settings.properties).not.toHaveProperty('passcode');
  });

  it('lets numbers come from ${VAR} references', () => {
    const port = schema.properties.server.properties.port;
    expect(port.anyOf).toEqual([
      expect.objectContaining({ type: 'integer', minimum: 0, maximum: 65_535 }),
      expect.objectContaining({ type: 'string', pattern: '^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$' }),
    ]);
    expect(new RegExp(port.anyOf[1].pattern).test('${PORT}')).toBe(true);
  });
});
