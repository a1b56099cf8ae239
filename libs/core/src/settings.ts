import { z } from 'zod';
import { secretMarkOf } from './secret-marks';

/** A setting counts as set when it is not blank (an unset environment variable often arrives as ""). */
export function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** A destination's data centre, one of `regions`; anything else is refused with the list of valid ones. */
export function regionSetting<const T extends readonly [string, ...string[]]>(regions: T) {
  return z.enum(regions, { error: (issue) => `unknown region ${JSON.stringify(issue.input)}; valid regions: ${regions.join(', ')}` });
}

/** A destination's `endpoint` override (a proxy, a fake in tests): an http(s) base URL and nothing more. */
export const BaseUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) base URL, e.g. http://127.0.0.1:9999' }).refine((url) => {
  if (!URL.canParse(url)) return true; // already reported as not a URL
  const { username, password, search, hash } = new URL(url);
  return !username && !password && !search && !hash;
}, 'must be a plain base URL: no credentials, query or fragment');

/** `path` appended to a base URL, whether or not the base ends in slashes. */
export function urlUnder(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

/**
 * Options for a cross-field `superRefine` on a settings object: it runs even when other settings are
 * wrong, so every problem is reported at once, but only when the fields it reads passed their own checks.
 */
export function whenFieldsValid(...keys: readonly string[]): { when: (payload: z.core.ParsePayload) => boolean } {
  return {
    when: ({ value, issues }) =>
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      !issues.some((issue) => keys.includes(String(issue.path?.[0]))),
  };
}

/** The top-level keys of a settings object schema whose value is marked with `secret`, wrappers (optional, default, …) looked through. */
export function secretSettingKeys(schema: z.ZodType): string[] {
  return Object.entries(settingsShape(schema))
    .filter(([, setting]) => wrappersOf(setting).some((layer) => secretMarkOf(layer) !== undefined))
    .map(([key]) => key);
}

/** The settings object's fields; a refined object (`superRefine`) is still the object. */
function settingsShape(schema: z.ZodType): Record<string, z.ZodType> {
  if (schema instanceof z.ZodObject) return schema.shape;
  throw new Error('a settings schema must be a zod object (z.strictObject), refined or not');
}

/** `schema` and each schema it wraps, outermost first, down to the value's own type. */
function wrappersOf(schema: z.ZodType): z.ZodType[] {
  const def = schema._zod.def as { innerType?: z.ZodType; in?: z.ZodType };
  const inner = def.innerType ?? (schema instanceof z.ZodPipe ? def.in : undefined);
  return inner ? [schema, ...wrappersOf(inner)] : [schema];
}

/** Where a README keeps the settings table generated from the schema (`npm run docs:settings` rewrites it). */
export const SETTINGS_TABLE_START = '<!-- settings-table:start (generated from the settings schema: npm run docs:settings) -->';
export const SETTINGS_TABLE_END = '<!-- settings-table:end -->';

/**
 * The settings schema as a Markdown table: key, type, default, whether it is a secret, and the
 * description given with `.describe()`. Derived from the schema's JSON Schema, so it says what an editor does.
 */
export function settingsTable(schema: z.ZodType): string {
  const secrets = new Set(secretSettingKeys(schema));
  const { properties = {} } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchema>;
  };
  const rows = Object.entries(properties).map(([key, property]) => [
    `\`${key}\``,
    typeOf(property),
    'default' in property ? markdownCode(property.default) : '',
    secrets.has(key) ? 'yes' : '',
    markdownCell(property.description ?? ''),
  ]);
  return markdownTable(['key', 'type', 'default', 'secret', 'description'], rows);
}

/** `readme` with the text between the settings-table markers replaced by `table`; an error when the markers are missing. */
export function withSettingsTable(readme: string, table: string): string {
  return withGeneratedSection(readme, SETTINGS_TABLE_START, SETTINGS_TABLE_END, table);
}

/** `text` with what lies between the `start` and `end` marker lines replaced by `content`; an error when a marker is missing. */
export function withGeneratedSection(text: string, start: string, end: string, content: string): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`the README has no "${start}" … "${end}" section`);
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(to)}`;
}

/** A Markdown table of `rows` (cells already Markdown, see `markdownCell`) under `header`. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  default?: unknown;
  description?: string;
}

function typeOf(property: JsonSchema): string {
  if (property.enum) return property.enum.map(markdownCode).join(' \\| ');
  if ('const' in property) return markdownCode(property.const);
  if (property.anyOf) return property.anyOf.map(typeOf).join(' \\| ');
  if (Array.isArray(property.type)) return property.type.map((type) => typeOf({ ...property, type })).join(' \\| ');
  if (property.type === 'string' && property.format === 'uri') return 'URL';
  if (property.type === 'array') return `${property.items ? typeOf(property.items) : 'any'}[]`;
  if (property.type === 'object' && typeof property.additionalProperties === 'object') {
    return `{ [key]: ${typeOf(property.additionalProperties)} }`;
  }
  return property.type ?? 'any';
}

/** A value as code inside one Markdown table cell: a string as it is, anything else as JSON. */
export function markdownCode(value: unknown): string {
  return `\`${markdownCell(typeof value === 'string' ? value : JSON.stringify(value))}\``;
}

/** Text safe inside one Markdown table cell. */
export function markdownCell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}
