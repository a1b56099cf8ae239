import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_RETRY_POLICY,
  MIN_SECRET_LENGTH,
  formatPath,
  secretSettingLeaves,
  whenFieldsValid,
  type AnyDestinationPlugin,
  type FieldIssue,
  type RetryPolicy,
} from '@ferry/core';
import { DEFAULT_DISPATCHER_OPTIONS, LEASE_PER_TIMEOUT, type DestinationInstance } from '@ferry/engine';
import { DEFAULT_POSTGRES_TIMEOUTS } from '@ferry/store';
import { bounded, fieldIssues, numeric } from './input';
import { credentialOf, storePasswordOf, strongSecrets } from './secret-strength';
import { EXAMPLE_CONFIG_PATH } from './shipped-files';

export const DEFAULT_CONFIG_FILE = 'ferry.config.json';
const DEFAULT_CONCURRENCY = 4;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const MiB = 1_048_576;

/** Every problem in a config, one per line, each naming its path. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly FieldIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** How an alert's body is shaped: Slack's incoming-webhook message, or plain JSON fields. */
export const ALERT_FORMATS = ['slack', 'json'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A DNS name or an address as a Host header carries it (an IPv6 one in brackets), without the port. */
const HOST_NAME = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/** One destination of a plugin: its settings validated by the plugin's own schema, in the same pass. */
function destinationSchema(plugin: AnyDestinationPlugin) {
  const limit = plugin.capabilities.maxConcurrency;
  return z
    .object({
      id: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, "_", "-" and "." only, at most 64 characters')
        .describe('Unique name of this destination, used in the admin API, metrics and logs'),
      plugin: z.literal(plugin.id).describe('Which destination plugin delivers the events'),
      settings: plugin.settings.prefault({}).describe(`${plugin.displayName} settings`),
      concurrency: numeric(z.number().int().min(1).max(limit, `at most ${limit} for ${plugin.id}`).optional()).describe(
        `Concurrent requests per account (default ${Math.min(DEFAULT_CONCURRENCY, limit)}, at most ${limit})`,
      ),
      timeoutMs: numeric(bounded(100, 600_000).default(10_000)).describe('Timeout of one request'),
    })
    .strict();
}

function configShape(plugins: readonly AnyDestinationPlugin[]) {
  const known = plugins.map((plugin) => plugin.id).join(', ') || 'none';
  const unknownPlugin = (issue: { input?: unknown }) =>
    `unknown plugin ${JSON.stringify((issue.input as { plugin?: unknown } | undefined)?.plugin)}; known plugins: ${known}`;
  const [first, ...rest] = plugins.map(destinationSchema);
  const destination = first
    ? z.discriminatedUnion('plugin', [first, ...rest], {
        error: (issue) => (issue.code === 'invalid_union' ? unknownPlugin(issue) : undefined),
      })
    : z.never({ error: unknownPlugin });

  return z
    .object({
      $schema: z.string().optional().describe('JSON Schema for editors (`npm run ferry -- config schema`)'),
      server: z
        .object({
          host: z.string().min(1).default('127.0.0.1').describe('Listen address; beyond loopback needs sources.revenuecat.authorization'),
          port: numeric(bounded(0, 65_535).default(8080)).describe('Listen port (0 picks a free one)'),
          adminToken: z
            .string()
            .min(16, 'must be at least 16 characters')
            .optional()
            .describe('Bearer token of the admin API; without it the admin API is disabled'),
          bodyLimitBytes: numeric(bounded(1_024, 16 * MiB).default(1_048_576)).describe('Largest accepted webhook body'),
          requestTimeoutMs: numeric(bounded(100, 5 * MINUTE_MS).default(30_000)).describe(
            'A request (headers and body) must arrive within this long, else its connection is closed',
          ),
          keepAliveTimeoutMs: numeric(bounded(100, 15 * MINUTE_MS).default(5_000)).describe(
            'An idle connection is closed after this long; raise it above a load balancer’s idle timeout',
          ),
          maxConnections: numeric(bounded(1, 100_000).default(1_000)).describe('Open connections beyond this are closed at once'),
          maxConnectionsPerClient: numeric(bounded(1, 100_000).default(100)).describe(
            'Open connections of one client address beyond this are closed at once; behind a proxy (one address for all) set it to maxConnections',
          ),
          allowedHosts: z
            .array(z.string().regex(HOST_NAME, 'must be a host name without a port, e.g. ferry.example.com'))
            .default([])
            .describe(
              'On a loopback server.host: Host header names answered besides localhost, 127.0.0.1 and [::1] on its port, e.g. the public name a proxy on this machine forwards',
            ),
        })
        .strict()
        .prefault({}),
      store: z
        .object({
          url: z
            .string()
            .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:PATH or postgres://…')
            .default('sqlite:./data/ferry.db')
            .describe('sqlite:PATH (relative to the working directory) or postgres://user:password@host/db'),
          queryTimeoutMs: numeric(bounded(100, HOUR_MS).default(DEFAULT_POSTGRES_TIMEOUTS.queryTimeoutMs)).describe(
            'Postgres: a statement is cancelled after this long, and a connection whose answer does not come a second later is dropped',
          ),
          connectTimeoutMs: numeric(bounded(100, 5 * MINUTE_MS).default(DEFAULT_POSTGRES_TIMEOUTS.connectTimeoutMs)).describe(
            'Postgres: opening a connection, or waiting for a free one, fails after this long',
          ),
          idleInTransactionTimeoutMs: numeric(bounded(100, HOUR_MS).default(DEFAULT_POSTGRES_TIMEOUTS.idleInTransactionTimeoutMs)).describe(
            'Postgres: the server ends a session idle inside a transaction this long, freeing its row locks',
          ),
          keepAliveDelayMs: numeric(bounded(1_000, 10 * MINUTE_MS).default(DEFAULT_POSTGRES_TIMEOUTS.keepAliveDelayMs)).describe(
            'Postgres: TCP keepalive probes start after a connection is idle this long',
          ),
        })
        .strict()
        .prefault({}),
      sources: z
        .object({
          revenuecat: z
            .object({
              authorization: z
                .string()
                .min(1)
                .refine((value) => credentialOf(value).length >= MIN_SECRET_LENGTH, {
                  error: `its credential (after a scheme such as "Bearer ") must be at least ${MIN_SECRET_LENGTH} characters: ${SHORT_SECRET_REASON}`,
                })
                .optional()
                .describe("The Authorization header value RevenueCat sends, e.g. 'Bearer …' (required beyond loopback)"),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      destinations: z.array(destination).default([]),
      delivery: z
        .object({
          maxAttempts: numeric(bounded(1, 1_000).default(DEFAULT_RETRY_POLICY.maxAttempts)).describe(
            'A delivery is dead only after this many attempts …',
          ),
          maxAgeHours: numeric(bounded(0.01, 30 * 24, { fractional: true }).default(DEFAULT_RETRY_POLICY.maxAgeMs / HOUR_MS)).describe(
            '… and this many hours since it was accepted (or replayed)',
          ),
          baseDelayMs: numeric(bounded(1, HOUR_MS).default(DEFAULT_RETRY_POLICY.baseDelayMs)).describe('First retry delay'),
          maxDelayMs: numeric(bounded(1, 24 * HOUR_MS).default(DEFAULT_RETRY_POLICY.maxDelayMs)).describe('Longest retry delay'),
          leaseMs: numeric(bounded(1_000, HOUR_MS).default(DEFAULT_DISPATCHER_OPTIONS.leaseMs)).describe(
            "How long a lease on a batch lasts (renewed while it is sent); a dead runner's batches are taken over after this",
          ),
          batchMaxBytes: numeric(bounded(1_024, 64 * MiB).default(DEFAULT_DISPATCHER_OPTIONS.batchMaxBytes)).describe(
            'Most bytes of webhook bodies in one batch (a larger webhook goes alone)',
          ),
        })
        .strict()
        .prefault({}),
      alerts: z
        .object({
          targets: z
            .array(
              z
                .object({
                  url: z
                    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
                    .describe('Where alerts are posted, e.g. a Slack incoming webhook; a secret (redacted everywhere)'),
                  format: z.enum(ALERT_FORMATS).describe('"slack" ({"text": …}) or "json" (the alert as fields)'),
                })
                .strict(),
            )
            .default([])
            .describe('Every alert is posted to each of these'),
          intervalMinutes: numeric(bounded(0.005, 1_440, { fractional: true }).default(5)).describe(
            'Dead deliveries are reported at most once per destination per this many minutes, grouped',
          ),
          pendingMinutes: numeric(bounded(0.005, 7 * 1_440, { fractional: true }).default(15)).describe(
            'A destination whose oldest due pending delivery waits longer than this is reported',
          ),
        })
        .strict()
        .prefault({}),
      retention: z
        .object({
          days: numeric(bounded(1, 3_650).default(30)).describe(
            "Events whose deliveries are all delivered or skipped are removed this many days after they arrived; at least 1, so RevenueCat's retries (about 2.6 hours) are still recognised as duplicates",
          ),
          deadDays: numeric(bounded(1, 3_650).default(90)).describe(
            'Events with a dead delivery are kept this many days (at least retention.days), to be looked at and replayed',
          ),
          intervalMinutes: numeric(bounded(1, 1_440).default(10)).describe('How often retention runs'),
        })
        .strict()
        .prefault({}),
      log: z
        .object({ level: z.enum(LOG_LEVELS).default('info') })
        .strict()
        .prefault({}),
    })
    .strict();
}

type ParsedConfig = z.output<ReturnType<typeof configShape>>;

/** Why secrets have a minimum length, in the config errors that enforce it. */
const SHORT_SECRET_REASON = 'a shorter value could occur by chance in logs and errors, so it could not be reliably redacted';

/** The config with its checks across sections, each run once the sections it reads are valid. */
function configSchema(plugins: readonly AnyDestinationPlugin[]) {
  return configShape(plugins)
    .superRefine(uniqueDestinationIds, whenFieldsValid('destinations'))
    .superRefine(secretSettingsLongEnough(plugins), whenFieldsValid('destinations'))
    .superRefine(authorizationBeyondLoopback, whenFieldsValid('server', 'sources'))
    .superRefine(strongSecrets(plugins, isLoopback), whenFieldsValid('server', 'store', 'sources', 'destinations'))
    .superRefine(leaseOutlastsRequests, whenFieldsValid('delivery', 'destinations'))
    .superRefine(retryDelaysInOrder, whenFieldsValid('delivery'))
    .superRefine(deadKeptAtLeastAsLong, whenFieldsValid('retention'));
}

function uniqueDestinationIds(config: ParsedConfig, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  config.destinations.forEach((destination, index) => {
    if (seen.has(destination.id))
      ctx.addIssue({ code: 'custom', path: ['destinations', index, 'id'], message: `duplicate id "${destination.id}"` });
    seen.add(destination.id);
  });
}

function secretSettingsLongEnough(plugins: readonly AnyDestinationPlugin[]) {
  const secretsOf = new Map(plugins.map((plugin) => [plugin.id, plugin.secrets]));
  return (config: ParsedConfig, ctx: z.RefinementCtx): void => {
    config.destinations.forEach((destination, index) => {
      for (const key of secretsOf.get(destination.plugin) ?? []) {
        if (secretSettingLeaves(destination.settings, [key]).some((value) => value.length < MIN_SECRET_LENGTH)) {
          ctx.addIssue({
            code: 'custom',
            path: ['destinations', index, 'settings', key],
            message: `must be at least ${MIN_SECRET_LENGTH} characters (or empty while not yet set): ${SHORT_SECRET_REASON}`,
          });
        }
      }
    });
  };
}

function authorizationBeyondLoopback(config: ParsedConfig, ctx: z.RefinementCtx): void {
  if (!isLoopback(config.server.host) && !config.sources.revenuecat.authorization) {
    ctx.addIssue({
      code: 'custom',
      path: ['sources', 'revenuecat', 'authorization'],
      message: `required when server.host (${config.server.host}) is not a loopback address`,
    });
  }
}

function leaseOutlastsRequests(config: ParsedConfig, ctx: z.RefinementCtx): void {
  const slowest = Math.max(0, ...config.destinations.map((destination) => destination.timeoutMs));
  if (config.delivery.leaseMs < LEASE_PER_TIMEOUT * slowest) {
    // A request starts only while its lease outlasts it; shorter, requests would never go (or go twice).
    ctx.addIssue({
      code: 'custom',
      path: ['delivery', 'leaseMs'],
      message: `must be at least ${LEASE_PER_TIMEOUT} × the longest destinations[].timeoutMs (${slowest}), i.e. ${Math.ceil(LEASE_PER_TIMEOUT * slowest)}`,
    });
  }
}

function retryDelaysInOrder(config: ParsedConfig, ctx: z.RefinementCtx): void {
  if (config.delivery.maxDelayMs < config.delivery.baseDelayMs) {
    ctx.addIssue({ code: 'custom', path: ['delivery', 'maxDelayMs'], message: 'must not be less than delivery.baseDelayMs' });
  }
}

function deadKeptAtLeastAsLong(config: ParsedConfig, ctx: z.RefinementCtx): void {
  if (config.retention.deadDays < config.retention.days) {
    ctx.addIssue({ code: 'custom', path: ['retention', 'deadDays'], message: 'must not be less than retention.days' });
  }
}

/** A config as written in `ferry.config.json` (before validation and `${VAR}` substitution). */
export type ConfigInput = z.input<ReturnType<typeof configSchema>>;

/** A validated config: defaults applied, `${VAR}`s substituted, plugin settings parsed. */
export interface RunnerConfig extends Omit<ParsedConfig, 'destinations' | '$schema'> {
  readonly destinations: readonly DestinationInstance[];
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${VAR}` in every string value; a missing variable is an issue naming the path and the variable. */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, at: PropertyKey[], issues: FieldIssue[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (reference, name: string) => {
      const found = env[name];
      if (found === undefined) {
        issues.push({ path: formatPath(at), message: `environment variable ${name} is not set` });
        return reference;
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, [...at, i], issues));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, [...at, key], issues)]));
  }
  return value;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Validates a config against the runner's schema and each destination's plugin settings. Throws a
 * ConfigError listing every problem (never a secret value).
 */
export function parseConfig(
  input: unknown,
  plugins: ReadonlyMap<string, AnyDestinationPlugin>,
  env: NodeJS.ProcessEnv = process.env,
): RunnerConfig {
  const missingVariables: FieldIssue[] = [];
  const substituted = substituteEnv(input, env, [], missingVariables);
  const parsed = configSchema([...plugins.values()]).safeParse(substituted);
  const issues = parsed.success ? [] : fieldIssues(parsed.error.issues, 'unknown key');
  // A value whose variable is missing is reported once, as missing, not again as invalid.
  const reported = new Set(missingVariables.map((issue) => issue.path));
  const problems = [...missingVariables, ...issues.filter((issue) => !reported.has(issue.path))];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const { $schema: _editorHint, ...config } = parsed.data;
  return {
    ...config,
    destinations: config.destinations.map((destination) => {
      const plugin = plugins.get(destination.plugin) as AnyDestinationPlugin;
      return {
        id: destination.id,
        plugin,
        settings: destination.settings,
        concurrency: destination.concurrency ?? Math.min(DEFAULT_CONCURRENCY, plugin.capabilities.maxConcurrency),
        timeoutMs: destination.timeoutMs,
      };
    }),
  };
}

export function retryPolicy(config: RunnerConfig): RetryPolicy {
  const { maxAttempts, maxAgeHours, baseDelayMs, maxDelayMs } = config.delivery;
  return { ...DEFAULT_RETRY_POLICY, maxAttempts, maxAgeMs: Math.round(maxAgeHours * 3_600_000), baseDelayMs, maxDelayMs };
}

/** Every secret value the config holds: they are redacted from logs, errors and outputs. */
export function configSecrets(config: RunnerConfig): string[] {
  const secrets: string[] = [];
  const authorization = config.sources.revenuecat.authorization;
  if (authorization) secrets.push(authorization, credentialOf(authorization));
  if (config.server.adminToken) secrets.push(config.server.adminToken);
  const storePassword = storePasswordOf(config.store.url);
  if (storePassword) secrets.push(storePassword, decodeURIComponent(storePassword));
  for (const destination of config.destinations) {
    secrets.push(...secretSettingLeaves(destination.settings, destination.plugin.secrets));
  }
  for (const { url } of config.alerts.targets) {
    // A Slack webhook's path is its credential: an error or log line may show it without the host.
    const { pathname, search } = new URL(url);
    secrets.push(url, ...(pathname.length + search.length >= MIN_SECRET_LENGTH ? [pathname + search] : []));
  }
  return [...new Set(secrets)];
}

export interface ConfigLocation {
  readonly path: string;
  /** True when no config file exists and the documented example is used instead (loopback only). */
  readonly example: boolean;
}

/** `--config FILE`, else `FERRY_CONFIG`, else `./ferry.config.json`, else the example. */
export function locateConfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ConfigLocation {
  const named = flag ?? env.FERRY_CONFIG;
  if (named) return { path: path.resolve(cwd, named), example: false };
  const conventional = path.resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(conventional) ? { path: conventional, example: false } : { path: EXAMPLE_CONFIG_PATH, example: true };
}

/** Reads the config file as JSON; the example is forced onto loopback. Unreadable or invalid JSON → ConfigError. */
export function readConfigFile(location: ConfigLocation): unknown {
  let text: string;
  try {
    text = readFileSync(location.path, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: '(file)', message: `cannot read ${location.path}: ${(error as NodeJS.ErrnoException).code ?? error}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ path: '(file)', message: `${location.path} is not valid JSON: ${(error as Error).message}` }]);
  }
  if (!location.example || value === null || typeof value !== 'object') return value;
  const example = value as { server?: object };
  return { ...example, server: { ...example.server, host: '127.0.0.1' } };
}

/** JSON Schema of the config for editors: each plugin's destination with its settings, `${VAR}` allowed for numbers. */
export function configJsonSchema(plugins: readonly AnyDestinationPlugin[]): Record<string, unknown> {
  return z.toJSONSchema(configSchema(plugins), {
    io: 'input',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      // `numeric` also takes text, which after substitution comes from a `${VAR}` reference.
      if (jsonSchema.type === 'integer' || jsonSchema.type === 'number') {
        const { description, default: fallback, ...number } = jsonSchema;
        for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
        Object.assign(jsonSchema, { description, default: fallback, anyOf: [number, ENV_REFERENCE_SCHEMA] });
      }
    },
  }) as Record<string, unknown>;
}

const ENV_REFERENCE_SCHEMA = { type: 'string', pattern: '^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$', description: 'an environment variable' };

/** What an operator should know about a valid config: what is missing and what is switched off. */
export function configNotes(config: RunnerConfig, location?: ConfigLocation): string[] {
  const notes: string[] = [];
  if (location?.example) {
    notes.push(
      `no config file found (./${DEFAULT_CONFIG_FILE}, --config FILE or FERRY_CONFIG): started from the example ${location.path}, on loopback only`,
    );
  }
  for (const destination of config.destinations) {
    const missing = destination.plugin.missingConfig?.(destination.settings) ?? [];
    if (missing.length > 0) {
      notes.push(
        `destination ${destination.id} cannot send yet (${missing.join('; ')}): its events are kept as paused deliveries until the config is complete`,
      );
    }
  }
  if (config.destinations.length === 0) notes.push('no destinations are configured: events are stored and sent nowhere');
  if (!config.sources.revenuecat.authorization) {
    notes.push('sources.revenuecat.authorization is not set: webhooks are accepted without an Authorization check (loopback only)');
  }
  if (!config.server.adminToken) notes.push('server.adminToken is not set: the admin API is disabled');
  return notes;
}
