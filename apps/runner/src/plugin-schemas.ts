import { z } from 'zod';
import type { AnyDestinationPlugin } from '@ferry/core';

/** A schema's name in its URL, `/schemas/<name>.json`. */
const SCHEMA_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * The body schemas the registered destination plugins declare (`DestinationPlugin.schemas`), as JSON Schema by
 * name, for `GET /schemas/<name>.json`: receivers validate or generate types from what the runner sends. Converted
 * once, at start; a malformed name, or one two plugins share, is a programming error that stops the runner.
 */
export function pluginJsonSchemas(plugins: readonly AnyDestinationPlugin[]): ReadonlyMap<string, object> {
  const schemas = new Map<string, object>();
  const owners = new Map<string, string>();
  for (const plugin of plugins) {
    for (const [name, schema] of Object.entries(plugin.schemas ?? {})) {
      if (!SCHEMA_NAME.test(name)) throw new Error(`plugin ${plugin.id}: schema name "${name}" must be lower-case words joined by -`);
      const owner = owners.get(name);
      if (owner !== undefined) throw new Error(`plugins ${owner} and ${plugin.id} both declare the schema "${name}"`);
      owners.set(name, plugin.id);
      // What the plugin sends is its schema's output.
      schemas.set(name, z.toJSONSchema(schema, { io: 'output' }));
    }
  }
  return schemas;
}
