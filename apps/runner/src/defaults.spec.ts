import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_RETRY_POLICY } from '@ferry/core';
import { clevertapPlugin } from '@ferry/clevertap';
import { sourcePlugins } from './plugins';
import { DEFAULT_DISPATCHER_OPTIONS } from '@ferry/engine';
import { ConfigError, parseConfig, retryPolicy, type RunnerConfig, type ConfigPlugins } from './config';

/**
 * The defaults operators read in the README, checked against the numbers written here and against what the
 * code does: changing a default, or its documentation, alone makes a test fail.
 */
const README = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
const plugins: ConfigPlugins = { destinations: [clevertapPlugin], sources: sourcePlugins };

/** The README's configuration table: each key with its default as written (`8080`, none, required, …). */
function documentedDefaults(): Map<string, string> {
  const start = README.indexOf('| key | default |');
  expect(start).toBeGreaterThan(-1);
  const table = README.slice(start).split('\n\n')[0];
  const rows = table
    .split('\n')
    .map((line) => /^\| `([A-Za-z.[\]]+)` \| (.+?) \| /.exec(line))
    .filter((match): match is RegExpExecArray => match !== null);
  return new Map(rows.map(([, key, value]) => [key, value]));
}

/** The value at a table key (`destinations[].timeoutMs`) in a parsed config with one destination. */
function parsedValueAt(key: string): unknown {
  const config = parseConfig({ destinations: [{ id: 'ct', plugin: 'clevertap' }] }, plugins, {});
  let value: unknown = config;
  for (const part of key.split('.')) {
    // A key under one that is absent (`destinations[].filter.kinds`) is absent too.
    value = part.endsWith('[]')
      ? (value as Record<string, unknown[]>)[part.slice(0, -2)][0]
      : (value as Record<string, unknown> | undefined)?.[part];
  }
  return value;
}

/** A valid item of each list in the config, by the list's key. */
const LIST_ITEMS: Readonly<Record<string, Record<string, unknown>>> = {
  sources: { id: 'ios', plugin: 'revenuecat' },
  destinations: { id: 'ct', plugin: 'clevertap' },
  'alerts.targets': { url: 'https://alerts.example.com/hook', format: 'json' },
};

/** A config with `value` at the dotted `key` (`alerts.targets`). */
function atPath(key: string, value: unknown): Record<string, unknown> {
  return key.split('.').reduceRight<unknown>((inner, part) => ({ [part]: inner }), value) as Record<string, unknown>;
}

function configProblems(input: unknown): string[] {
  try {
    parseConfig(input, plugins, {});
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => issue.path);
    throw error;
  }
}

describe('the README configuration table', () => {
  const documented = documentedDefaults();

  it('lists every setting whose default is promised, with the numbers written here', () => {
    expect(Object.fromEntries(documented)).toMatchObject({
      'server.host': '`127.0.0.1`',
      'server.port': '`8080`',
      'server.bodyLimitBytes': '`1048576`',
      'store.url': '`sqlite:./data/ferry.db`',
      'destinations[].concurrency': '`4`',
      'destinations[].timeoutMs': '`10000`',
      'delivery.maxAttempts': '`10`',
      'delivery.maxAgeHours': '`24`',
      'delivery.baseDelayMs': '`1000`',
      'delivery.maxDelayMs': '`600000`',
      'delivery.leaseMs': '`60000`',
      'alerts.targets': '`[]`',
      'alerts.intervalMinutes': '`5`',
      'alerts.pendingMinutes': '`15`',
      'log.level': '`info`',
    });
  });

  it.each([...documentedDefaults()])('%s: the parsed default is the documented %s', (key, written) => {
    if (written === 'required') {
      // A list item with every key but this one: the config names the one missing.
      const [list, field] = key.split('[].');
      const { [field]: _missing, ...withoutIt } = LIST_ITEMS[list];
      expect(configProblems(atPath(list, [withoutIt]))).toContain(key.replace('[]', '[0]'));
    } else if (written === 'none') {
      expect(parsedValueAt(key)).toBeUndefined();
    } else if (key === 'destinations[].settings' || key === 'sources[].settings') {
      // `{}`: no settings need be written; the parsed value holds the plugin's own defaults (its README).
      expect(written).toBe('`{}`');
      const list = key.split('[]')[0];
      expect(configProblems({ [list]: [LIST_ITEMS[list]] })).toEqual([]);
    } else if (key === 'sources') {
      // The object form's default: one source whose id and plugin are its key, with no settings.
      expect(written).toBe('`{"revenuecat":{}}`');
      const sources = parsedValueAt(key) as RunnerConfig['sources'];
      expect(sources.map(({ id, plugin, settings }) => ({ id, plugin: plugin.id, settings }))).toEqual([
        { id: 'revenuecat', plugin: 'revenuecat', settings: {} },
      ]);
    } else {
      const literal = /^`(.*)`$/.exec(written)?.[1];
      expect(literal).toBeDefined();
      const value = parsedValueAt(key);
      expect(Array.isArray(value) ? JSON.stringify(value) : String(value)).toBe(literal);
    }
  });
});

describe('the delivery defaults', () => {
  it('are 10 attempts over 24 h, 1 s backoff doubling to 10 min, Retry-After up to 1 h', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxAttempts: 10,
      maxAgeMs: 86_400_000,
      baseDelayMs: 1_000,
      maxDelayMs: 600_000,
      maxRetryAfterMs: 3_600_000,
    });
    expect(retryPolicy(parseConfig({}, plugins, {}))).toEqual(DEFAULT_RETRY_POLICY);
  });

  it('linger 25 ms, probe a paused destination every 30 s, lease for 60 s', () => {
    expect(DEFAULT_DISPATCHER_OPTIONS).toMatchObject({
      lingerMs: 25,
      pausedProbeMs: 30_000,
      leaseMs: 60_000,
      retryPolicy: DEFAULT_RETRY_POLICY,
    });
    expect(parseConfig({}, plugins, {}).delivery.leaseMs).toBe(60_000);
  });

  it.each([
    'sent after a 25 ms linger',
    '(1 s doubling up to 10 min)',
    'only after both 10 attempts and 24 h',
    'It is probed every 30 s',
    'A `Retry-After` header is honoured up to 1 h.',
    'after `delivery.leaseMs` (60 s by default)',
  ])('are stated in the README: %j', (phrase) => {
    // Prose wraps anywhere: compare with every run of whitespace as one space.
    if (!README.replace(/\s+/g, ' ').includes(phrase)) throw new Error(`README.md no longer says ${JSON.stringify(phrase)}`);
  });
});
