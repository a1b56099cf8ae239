import { z } from 'zod';
import {
  DEFAULT_RETRY_POLICY,
  EVENT_KINDS,
  MIN_SECRET_LENGTH,
  secret,
  secretSettingKeys,
  secretSettingLeaves,
  whenFieldsValid,
  type AnyDestinationPlugin,
  type AnySourcePlugin,
} from '@ferry/core';
import { DEFAULT_DISPATCHER_OPTIONS, LEASE_PER_TIMEOUT } from '@ferry/engine';
import { DEFAULT_POSTGRES_TIMEOUTS } from '@ferry/store';
import { INSTANCE_ID, INSTANCE_ID_RULE, bounded, numeric } from './input';
import { strongSecrets } from './secret-strength';

/**
 * The config's schema: every key with its description, default, bounds and secret mark. It is the one source
 * of the config's facts: validation, the editors' JSON Schema, the README's configuration table
 * (config-table.ts) and what is redacted (config-secrets.ts) all come from it.
 */

const DEFAULT_CONCURRENCY = 4;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const MiB = 1_048_576;

/** How an alert's body is shaped: Slack's incoming-webhook message, or plain JSON fields. */
export const ALERT_FORMATS = ['slack', 'json'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A DNS name or an address as a Host header carries it (an IPv6 one in brackets), without the port. */
const HOST_NAME = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/** Why secrets have a minimum length, in the config errors that enforce it. */
const SHORT_SECRET_REASON = 'a shorter value could occur by chance in logs and errors, so it could not be reliably redacted';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The plugins a config may name: the registry's, or a test's. */
export interface ConfigPlugins {
  readonly destinations: readonly AnyDestinationPlugin[];
  readonly sources: readonly AnySourcePlugin[];
}

/** The id of a destination or a source: in URLs (`/webhooks/<id>`), metrics labels and logs, so plain. */
const instanceId = z.string().regex(INSTANCE_ID, INSTANCE_ID_RULE);

/** A list the operator gives to narrow something down: empty would match nothing, which is never meant. */
const someOf = <T extends z.ZodType>(element: T) => z.array(element).min(1, 'must name at least one; leave the key out to take every one');

/** A destination's route filter (SPEC §13; engine `RouteFilter`): every field optional, all given must match. */
const routeFilter = z
  .object({
    environments: someOf(z.enum(['PRODUCTION', 'SANDBOX']))
      .optional()
      .describe('Only events of these environments.'),
    apps: someOf(z.string().min(1)).optional().describe("Only events of these apps (the source's app id, RevenueCat's `app_id`)."),
    stores: someOf(z.string().min(1)).optional().describe('Only events of these stores (`APP_STORE`, `PLAY_STORE`, …).'),
    products: someOf(z.string().min(1))
      .optional()
      .describe('Only events of these product ids; `*` matches any run of characters (`com.example.pro.*`).'),
    entitlements: someOf(z.string().min(1))
      .optional()
      .describe("Only events whose entitlements share one of these (RevenueCat's `entitlement_ids`, or the older `entitlement_id`)."),
    kinds: someOf(z.enum(EVENT_KINDS)).optional().describe('Only events of these kinds (see the classification table).'),
  })
  .strict();

/** The ids of `plugins`, for messages. */
const knownIds = (plugins: readonly { readonly id: string }[]) => plugins.map((plugin) => plugin.id).join(', ') || 'none';

/**
 * One instance of any of `plugins` (a source or a destination), told apart by its `plugin` key, each with its
 * plugin's own schema; an unknown plugin is one issue listing the known ones.
 */
function byPluginId<P extends { readonly id: string }, T extends z.ZodObject<{ plugin: z.ZodLiteral<string> }>>(
  plugins: readonly P[],
  schemaOf: (plugin: P) => T,
) {
  const known = knownIds(plugins);
  const unknownPlugin = (issue: { input?: unknown }) =>
    `unknown plugin ${JSON.stringify((issue.input as { plugin?: unknown } | undefined)?.plugin)}; known plugins: ${known}`;
  const [first, ...rest] = plugins.map(schemaOf);
  return first
    ? z.discriminatedUnion('plugin', [first, ...rest], {
        error: (issue) => (issue.code === 'invalid_union' ? unknownPlugin(issue) : undefined),
      })
    : z.never({ error: unknownPlugin });
}

/**
 * One destination of a plugin: its settings validated by the plugin's own schema, in the same pass. The
 * descriptions are the same for every plugin: the README's table shows one row per key for all of them.
 */
function destinationSchema(plugin: AnyDestinationPlugin) {
  const limit = plugin.capabilities.maxConcurrency;
  return z
    .object({
      id: instanceId.describe('Unique name (letters, digits, `_ - .`, at most 64 characters), used in the admin API, metrics and logs.'),
      plugin: z
        .literal(plugin.id)
        .describe('Which destination plugin delivers the events (see Destinations). An unknown plugin is an error listing the known ones.'),
      settings: plugin.settings.prefault({}).describe("The plugin's settings (see its README)."),
      concurrency: numeric(
        z.number().int().min(1).max(limit, `at most ${limit} for ${plugin.id}`).default(Math.min(DEFAULT_CONCURRENCY, limit)),
      ).describe("Concurrent requests per account; at most the plugin's limit."),
      timeoutMs: numeric(bounded(100, 600_000).default(10_000)).describe('Timeout of one request.'),
      sources: someOf(z.string().min(1))
        .optional()
        .describe('The ids of the sources whose events it takes; absent: every source. Each must be a configured source.'),
      filter: routeFilter.optional(),
    })
    .strict();
}

/** One source instance of a plugin, in the list form: its settings validated by the plugin's own schema, in the same pass. */
function sourceSchema(plugin: AnySourcePlugin) {
  return z
    .object({
      id: instanceId.describe(
        'Unique name (letters, digits, `_ - .`, at most 64 characters): its webhooks arrive at `POST /webhooks/<id>`, and its events carry it as their `source`.',
      ),
      plugin: z.literal(plugin.id).describe('Which source plugin receives them. An unknown plugin is an error listing the known ones.'),
      settings: plugin.settings.prefault({}).describe("The source plugin's settings (see Several sources and routes)."),
    })
    .strict();
}

/** A configured source as the schema's output: one shape for both forms, with where its settings were written. */
export interface ParsedSource {
  readonly id: string;
  readonly plugin: string;
  readonly settings: unknown;
  /** Where the settings sit in the config as written: `sources[0].settings`, or `sources.revenuecat` in the object form. */
  readonly settingsPath: readonly PropertyKey[];
}

/**
 * `sources`: a list of instances (`[{ id, plugin, settings }]`), or the object form `{ "revenuecat": {…settings} }`,
 * one source per key whose id and plugin are the key. Absent: one source of the first plugin (RevenueCat), with
 * no credential. Either form comes out as the list.
 */
function sourcesSchema(plugins: readonly AnySourcePlugin[]) {
  const known = knownIds(plugins);
  const instance = byPluginId(plugins, sourceSchema);
  const list = z.array(instance).min(1, 'must name at least one source');
  const byPlugin = z
    .object(Object.fromEntries(plugins.map((plugin) => [plugin.id, plugin.settings.optional()])))
    .strict()
    .refine((form) => Object.values(form).some((settings) => settings !== undefined), 'must name at least one source');
  const defaultForm = plugins.length > 0 ? { [plugins[0].id]: {} } : {};
  return z
    .union([list, byPlugin], { error: 'must be a list of sources ({ "id", "plugin", "settings" }) or an object of source plugin ids' })
    .prefault(defaultForm)
    .describe(
      `The webhook sources, each served at \`POST /webhooks/<id>\`: a list of \`{ "id", "plugin", "settings" }\` (below), or \`{ "revenuecat": {…settings} }\`, one source whose id and plugin are the key. Known plugins: ${known}. Every source checks its own credential; beyond a loopback \`server.host\` each must have one.`,
    )
    .transform((form): ParsedSource[] =>
      Array.isArray(form)
        ? form.map(({ id, plugin, settings }, index) => ({ id, plugin, settings, settingsPath: ['sources', index, 'settings'] }))
        : Object.entries(form).flatMap(([plugin, settings]) =>
            settings === undefined ? [] : [{ id: plugin, plugin, settings, settingsPath: ['sources', plugin] }],
          ),
    );
}

export function configShape(plugins: ConfigPlugins) {
  const destination = byPluginId(plugins.destinations, destinationSchema);

  return z
    .object({
      $schema: z.string().optional().describe('JSON Schema for editors: save `npm run ferry -- config schema` and name the file here.'),
      server: z
        .object({
          host: z
            .string()
            .min(1)
            .default('127.0.0.1')
            .describe(
              "Listen address. Anything other than loopback requires every source to check a credential (its plugin's secret setting), otherwise Ferry refuses to start.",
            ),
          port: numeric(bounded(0, 65_535).default(8080)).describe('Listen port (`0` picks a free one).'),
          adminToken: secret(z.string().min(16, 'must be at least 16 characters'))
            .optional()
            .describe(
              'Bearer token for `/admin` and the operator console at `/console`. Without it the admin API answers 403 and the console only says how to enable it.',
            ),
          bodyLimitBytes: numeric(bounded(1_024, 16 * MiB).default(1_048_576)).describe(
            'Largest accepted webhook body; larger bodies get 413.',
          ),
          requestTimeoutMs: numeric(bounded(100, 5 * MINUTE_MS).default(30_000)).describe(
            "A request's headers and body must arrive within this long (its headers within 10 s), else the connection is closed.",
          ),
          keepAliveTimeoutMs: numeric(bounded(100, 15 * MINUTE_MS).default(5_000)).describe(
            "An idle connection is closed after this long. Behind a load balancer, set it above the balancer's idle timeout.",
          ),
          maxConnections: numeric(bounded(1, 100_000).default(1_000)).describe(
            'Connections beyond this many are closed as soon as they open.',
          ),
          maxConnectionsPerClient: numeric(bounded(1, 100_000).default(100)).describe(
            "Connections of one client address beyond this many are closed as soon as they open (an IPv6 client is its /64 network), so one peer holding idle connections cannot take them all. Behind a proxy every request comes from the proxy's address: set it to `server.maxConnections` there (the container config does).",
          ),
          allowedHosts: z
            .array(z.string().regex(HOST_NAME, 'must be a host name without a port, e.g. ferry.example.com'))
            .default([])
            .describe(
              "Only on a loopback `server.host`: host names (no port) answered besides `localhost`, `127.0.0.1` and `[::1]` on the runner's own port. A request with any other `Host` header gets 421, so a web page that rebinds its DNS name to this machine reaches nothing. Behind a proxy on the same machine, list the public name it forwards (e.g. `ferry.example.com`).",
            ),
        })
        .strict()
        .prefault({}),
      store: z
        .object({
          url: secret(
            z
              .string()
              .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:PATH or postgres://…')
              .default('sqlite:./data/ferry.db'),
            ['urlPassword'],
          ).describe(
            '`sqlite:PATH` (relative to the working directory; the folder is created) or `postgres://user:password@host/db` for several runners.',
          ),
          queryTimeoutMs: numeric(bounded(100, HOUR_MS).default(DEFAULT_POSTGRES_TIMEOUTS.queryTimeoutMs)).describe(
            'Postgres only: a statement is cancelled after this long, and a connection whose answer does not come a second later (a network partition) is dropped. Ingest then answers 503 and `/readyz` says not ready instead of hanging.',
          ),
          connectTimeoutMs: numeric(bounded(100, 5 * MINUTE_MS).default(DEFAULT_POSTGRES_TIMEOUTS.connectTimeoutMs)).describe(
            'Postgres only: opening a connection, or waiting for a free one, fails after this long.',
          ),
          idleInTransactionTimeoutMs: numeric(bounded(100, HOUR_MS).default(DEFAULT_POSTGRES_TIMEOUTS.idleInTransactionTimeoutMs)).describe(
            'Postgres only: the server ends a session left idle inside a transaction this long, freeing its row locks.',
          ),
          keepAliveDelayMs: numeric(bounded(1_000, 10 * MINUTE_MS).default(DEFAULT_POSTGRES_TIMEOUTS.keepAliveDelayMs)).describe(
            'Postgres only: TCP keepalive probes start after a connection is idle this long.',
          ),
        })
        .strict()
        .prefault({}),
      sources: sourcesSchema(plugins.sources),
      destinations: z.array(destination).default([]),
      delivery: z
        .object({
          maxAttempts: numeric(bounded(1, 1_000).default(DEFAULT_RETRY_POLICY.maxAttempts)).describe(
            'A delivery is given up (dead) only after this many attempts…',
          ),
          maxAgeHours: numeric(bounded(0.01, 30 * 24, { fractional: true }).default(DEFAULT_RETRY_POLICY.maxAgeMs / HOUR_MS)).describe(
            '…and this many hours since it was accepted or replayed.',
          ),
          baseDelayMs: numeric(bounded(1, HOUR_MS).default(DEFAULT_RETRY_POLICY.baseDelayMs)).describe(
            'First retry delay; it doubles per attempt, with jitter.',
          ),
          maxDelayMs: numeric(bounded(1, 24 * HOUR_MS).default(DEFAULT_RETRY_POLICY.maxDelayMs)).describe(
            `Longest backoff. A \`Retry-After\` header is honoured up to ${DEFAULT_RETRY_POLICY.maxRetryAfterMs / HOUR_MS} h.`,
          ),
          leaseMs: numeric(bounded(1_000, HOUR_MS).default(DEFAULT_DISPATCHER_OPTIONS.leaseMs)).describe(
            `How long a lease on a batch lasts. A runner renews its leases every third of this while the batch is being sent, however many request rounds it takes; if the runner dies, the others take its batches over after this. Must be at least ${LEASE_PER_TIMEOUT} × every \`destinations[].timeoutMs\` (a request starts only while its lease outlasts it).`,
          ),
          batchMaxBytes: numeric(bounded(1_024, 64 * MiB).default(DEFAULT_DISPATCHER_OPTIONS.batchMaxBytes)).describe(
            'Most bytes of webhook bodies one batch leases, so a backlog of huge webhooks cannot exhaust the heap. A larger webhook still goes, alone.',
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
                  url: secret(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }), ['value', 'urlPath']).describe(
                    'Where alerts are posted, e.g. a Slack incoming webhook.',
                  ),
                  format: z
                    .enum(ALERT_FORMATS)
                    .describe('`slack` (a Slack incoming-webhook message, `{"text": …}`) or `json` (the alert as fields).'),
                })
                .strict(),
            )
            .default([])
            .describe('Where alerts are posted (see Alerts): every alert goes to each target.'),
          intervalMinutes: numeric(bounded(0.005, 1_440, { fractional: true }).default(5)).describe(
            'Dead deliveries are reported at most once per destination per this many minutes, with the count and the first error.',
          ),
          pendingMinutes: numeric(bounded(0.005, 7 * 1_440, { fractional: true }).default(15)).describe(
            'A destination whose oldest due pending delivery waits longer than this is reported.',
          ),
        })
        .strict()
        .prefault({}),
      retention: z
        .object({
          days: numeric(bounded(1, 3_650).default(30)).describe(
            'Events whose deliveries are all `delivered` or `skipped` are removed, with their deliveries and attempts, this many days after they arrived. At least 1: the store recognises a webhook RevenueCat sends again (its retries span about 2.6 hours) only while it still holds the first copy, so a shorter retention would deliver retries twice.',
          ),
          deadDays: numeric(bounded(1, 3_650).default(90)).describe(
            'Events with a `dead` delivery (the others final) are kept this long, to be looked at and replayed. At least `retention.days`.',
          ),
          intervalMinutes: numeric(bounded(1, 1_440).default(10)).describe('How often retention runs (and once just after start).'),
        })
        .strict()
        .prefault({}),
      log: z
        .object({
          level: z.enum(LOG_LEVELS).default('info').describe('The least severe level logged; `silent` logs nothing.'),
        })
        .strict()
        .prefault({}),
    })
    .strict();
}

export type ParsedConfig = z.output<ReturnType<typeof configShape>>;

/** The config with its checks across sections, each run once the sections it reads are valid. */
export function configSchema(plugins: ConfigPlugins) {
  return configShape(plugins)
    .superRefine(uniqueIds('destinations'), whenFieldsValid('destinations'))
    .superRefine(uniqueIds('sources'), whenFieldsValid('sources'))
    .superRefine(routedSourcesConfigured, whenFieldsValid('sources', 'destinations'))
    .superRefine(secretSettingsLongEnough(plugins.destinations), whenFieldsValid('destinations'))
    .superRefine(sourcesAuthenticateBeyondLoopback(plugins.sources), whenFieldsValid('server', 'sources'))
    .superRefine(strongSecrets(plugins, isLoopback), whenFieldsValid('server', 'store', 'sources', 'destinations'))
    .superRefine(leaseOutlastsRequests, whenFieldsValid('delivery', 'destinations'))
    .superRefine(retryDelaysInOrder, whenFieldsValid('delivery'))
    .superRefine(deadKeptAtLeastAsLong, whenFieldsValid('retention'));
}

/** A config as written in `ferry.config.json` (before validation and `${VAR}` substitution). */
export type ConfigInput = z.input<ReturnType<typeof configSchema>>;

/** The ids of a section's entries are unique: each names one source or destination in URLs, metrics and logs. */
function uniqueIds(section: 'sources' | 'destinations') {
  return (config: ParsedConfig, ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    config[section].forEach(({ id }, index) => {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [section, index, 'id'], message: `duplicate id "${id}"` });
      seen.add(id);
    });
  };
}

/** A destination's `sources` name configured sources: a misspelt one would silently take nothing. */
function routedSourcesConfigured(config: ParsedConfig, ctx: z.RefinementCtx): void {
  const configured = new Set(config.sources.map((source) => source.id));
  const list = [...configured].join(', ');
  config.destinations.forEach((destination, index) => {
    destination.sources?.forEach((id, at) => {
      if (!configured.has(id))
        ctx.addIssue({
          code: 'custom',
          path: ['destinations', index, 'sources', at],
          message: `unknown source "${id}"; configured sources: ${list}`,
        });
    });
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

/**
 * Beyond loopback anyone may post webhooks: every source must check a credential. The issue names the
 * source's secret setting when its plugin marks exactly one (RevenueCat's `authorization`), else its settings.
 */
function sourcesAuthenticateBeyondLoopback(plugins: readonly AnySourcePlugin[]) {
  const byId = new Map(plugins.map((plugin) => [plugin.id, plugin]));
  return (config: ParsedConfig, ctx: z.RefinementCtx): void => {
    if (isLoopback(config.server.host)) return;
    for (const source of config.sources) {
      const plugin = byId.get(source.plugin)!;
      if (plugin.authenticates(source.settings)) continue;
      const secrets = secretSettingKeys(plugin.settings);
      ctx.addIssue({
        code: 'custom',
        path: [...source.settingsPath, ...(secrets.length === 1 ? secrets : [])],
        message: `required when server.host (${config.server.host}) is not a loopback address`,
      });
    }
  };
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
