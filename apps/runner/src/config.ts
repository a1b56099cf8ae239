import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_RETRY_POLICY, formatPath, type FieldIssue, type RetryPolicy, type SourceInstance } from '@ferry/core';
import { missingConfigOf, unreachableRouteParts, type DestinationInstance } from '@ferry/engine';
import { configSchema, type ConfigPlugins, type ParsedConfig } from './config-schema';
import { fieldIssues } from './input';
import { EXAMPLE_CONFIG_PATH } from './shipped-files';

export type { ConfigInput, ConfigPlugins } from './config-schema';

export const DEFAULT_CONFIG_FILE = 'ferry.config.json';

/** Every problem in a config, one per line, each naming its path. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly FieldIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** A validated config: defaults applied, `${VAR}`s substituted, plugin settings parsed. */
export interface RunnerConfig extends Omit<ParsedConfig, 'destinations' | 'sources' | '$schema'> {
  /** In the config's order; the first is the default (preview's, say). Either form of `sources` comes out as this list. */
  readonly sources: readonly SourceInstance[];
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

/**
 * Validates a config against the runner's schema and each source's and destination's plugin settings.
 * Throws a ConfigError listing every problem (never a secret value).
 */
export function parseConfig(input: unknown, plugins: ConfigPlugins, env: NodeJS.ProcessEnv = process.env): RunnerConfig {
  const missingVariables: FieldIssue[] = [];
  const substituted = substituteEnv(input, env, [], missingVariables);
  const parsed = configSchema(plugins).safeParse(substituted);
  const issues = parsed.success ? [] : fieldIssues(parsed.error.issues, 'unknown key');
  // A value whose variable is missing is reported once, as missing, not again as invalid.
  const reported = new Set(missingVariables.map((issue) => issue.path));
  const problems = [...missingVariables, ...issues.filter((issue) => !reported.has(issue.path))];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const { $schema: _editorHint, ...config } = parsed.data;
  const sourcePlugins = new Map(plugins.sources.map((plugin) => [plugin.id, plugin]));
  const destinationPlugins = new Map(plugins.destinations.map((plugin) => [plugin.id, plugin]));
  return {
    ...config,
    sources: config.sources.map(({ id, plugin, settings }) => ({ id, plugin: sourcePlugins.get(plugin)!, settings })),
    destinations: config.destinations.map((destination) => {
      const { sources, filter } = destination;
      return {
        id: destination.id,
        plugin: destinationPlugins.get(destination.plugin)!,
        settings: destination.settings,
        concurrency: destination.concurrency,
        timeoutMs: destination.timeoutMs,
        ...(sources || filter ? { route: { sources, filter } } : {}),
      };
    }),
  };
}

export function retryPolicy(config: RunnerConfig): RetryPolicy {
  const { maxAttempts, maxAgeHours, baseDelayMs, maxDelayMs } = config.delivery;
  return { ...DEFAULT_RETRY_POLICY, maxAttempts, maxAgeMs: Math.round(maxAgeHours * 3_600_000), baseDelayMs, maxDelayMs };
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

/** JSON Schema of the config for editors: each plugin's source and destination with its settings, `${VAR}` allowed for numbers. */
export function configJsonSchema(plugins: ConfigPlugins): Record<string, unknown> {
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
    const missing = missingConfigOf(destination);
    if (missing.length > 0) {
      notes.push(
        `destination ${destination.id} cannot send yet (${missing.join('; ')}): its events are kept as paused deliveries until the config is complete`,
      );
    }
  }
  if (config.destinations.length === 0) notes.push('no destinations are configured: events are stored and sent nowhere');
  for (const source of config.sources) {
    if (!source.plugin.authenticates(source.settings)) {
      notes.push(
        `source ${source.id} checks no credential: its webhooks (POST /webhooks/${source.id}) are accepted from anyone who reaches this loopback address`,
      );
    }
  }
  if (!config.server.adminToken) notes.push('server.adminToken is not set: the admin API is disabled');
  return notes;
}

/**
 * What in a valid config can never happen, each naming its path: a route that takes a kind its destination's
 * plugin does not, or sandbox events a plugin drops. Not errors: the config works, it only does less than it says.
 */
export function configWarnings(config: RunnerConfig): FieldIssue[] {
  return config.destinations.flatMap((destination, index) =>
    unreachableRouteParts(destination.route, destination.plugin).map((issue) => ({
      path: `destinations[${index}].${issue.path}`,
      message: issue.message,
    })),
  );
}
