import type { z } from 'zod';
import { markedSecrets, secretSettingLeaves, secretStrings } from '@ferry/core';
import type { RunnerConfig } from './config';
import { configShape, type ParsedConfig } from './config-schema';

/**
 * Every secret value the config holds, to be redacted from logs, errors and outputs: each value the schema
 * marks with `secret()`, wherever it sits (the runner's own keys, each plugin's settings), in the parts the
 * mark names (an authorization's credential, a URL's password or path). No list here: marking a key in the
 * schema is all it takes.
 */
export function configSecrets(config: RunnerConfig): string[] {
  const plugins = {
    destinations: [...new Set(config.destinations.map((destination) => destination.plugin))],
    sources: [...new Set(config.sources.map((source) => source.plugin))],
  };
  const declared = config.destinations.flatMap((destination) => secretSettingLeaves(destination.settings, destination.plugin.secrets));
  // A plugin's declared `secrets` count too, should it declare a key it did not mark (the plugin kit refuses that).
  return [...new Set([...secretsIn(configShape(plugins), asParsed(config)), ...declared])];
}

/** The secret strings of `parsed`, a value of `schema`'s output, found by the marks in the schema. */
export function secretsIn(schema: z.ZodType, parsed: unknown): string[] {
  return secretStrings(markedSecrets(schema, parsed));
}

/**
 * The config as the schema's output it was parsed from: each source and destination names its plugin by id
 * again (the walk picks an instance's settings schema by that id, and refuses a value it cannot place).
 */
function asParsed(
  config: RunnerConfig,
): Omit<ParsedConfig, '$schema' | 'sources' | 'destinations'> & Record<'sources' | 'destinations', unknown> {
  return {
    ...config,
    sources: config.sources.map(({ id, plugin, settings }) => ({ id, plugin: plugin.id, settings, settingsPath: [] })),
    destinations: config.destinations.map(({ plugin, route, ...destination }) => ({ ...destination, ...route, plugin: plugin.id })),
  };
}
