import { markdownCell, markdownCode, markdownTable, withGeneratedSection, type SecretPart } from '@ferry/core';
import { configJsonSchema, type ConfigPlugins } from './config';

/**
 * The README's configuration table, generated from the config's JSON Schema (what an editor shows, straight
 * from the zod schema): each key with its default, allowed values, what of it is secret, and its description.
 * `npm run docs:config` rewrites it; config-table.spec.ts fails while it is stale.
 */

export const CONFIG_TABLE_START = '<!-- config-table:start (generated from the config schema: npm run docs:config) -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

/** The parts of a JSON Schema node read here. */
interface SchemaNode {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly anyOf?: readonly SchemaNode[];
  readonly oneOf?: readonly SchemaNode[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  readonly items?: SchemaNode;
  readonly secret?: boolean;
  readonly secretParts?: readonly SecretPart[];
}

/**
 * One key's schema in one variant of the config: a destination's key has a variant per plugin, labelled with
 * the plugin's id, and a cell that differs between them names each.
 */
interface Variant {
  readonly label?: string;
  readonly node: SchemaNode;
  readonly required: boolean;
}

/**
 * The configuration table for the given plugins. A described key is a row (an object such as a plugin's
 * settings included, documented as a whole); an undescribed object is a section, whose keys are rows; a list
 * of objects (`destinations`, `alerts.targets`, and `sources` in its list form) has rows for its items' keys
 * (`destinations[].id`). A key that is neither described nor a section is an error: every key an operator can
 * write is documented.
 */
export function configTable(plugins: ConfigPlugins): string {
  return schemaTable(configJsonSchema(plugins));
}

/** The table of any config-like JSON Schema, by the rules of `configTable`. */
export function schemaTable(schema: object): string {
  const rows: string[][] = [];
  collectRows('', [{ node: schema as SchemaNode, required: true }], rows);
  return markdownTable(['key', 'default', 'allowed', 'secret', 'meaning'], rows);
}

/** `readme` with its configuration table replaced by `table`; an error when the markers are missing. */
export function withConfigTable(readme: string, table: string): string {
  return withGeneratedSection(readme, CONFIG_TABLE_START, CONFIG_TABLE_END, table);
}

function collectRows(key: string, variants: readonly Variant[], rows: string[][]): void {
  const described = variants.some(({ node }) => node.description !== undefined);
  if (described) rows.push(row(key, variants));
  const objects = variants.flatMap(objectVariants);
  if (!described && objects.length > 0) {
    const names = [...new Set(objects.flatMap(({ node }) => Object.keys(node.properties ?? {})))];
    for (const name of names) {
      const fields = objects
        .filter(({ node }) => node.properties?.[name] !== undefined)
        .map(({ label, node }) => ({ label, node: node.properties![name], required: node.required?.includes(name) ?? false }));
      collectRows(key ? `${key}.${name}` : name, fields, rows);
    }
    return;
  }
  // A list's items; a key that is a list or something else (`sources`) documents the list's.
  const items = variants.flatMap(({ label, node }) =>
    [node, ...(node.anyOf ?? [])].flatMap((option) => (option.items ? [{ label, node: option.items, required: false }] : [])),
  );
  if (items.length > 0 && items.flatMap(objectVariants).length > 0) return collectRows(`${key}[]`, items, rows);
  if (!described) throw new Error(`config key "${key}" has no description: describe it in the schema (config-schema.ts)`);
}

/**
 * The object shapes of a variant: itself, or each option of a union of objects, labelled by the option's
 * constant key (a destination's `plugin`).
 */
function objectVariants(variant: Variant): Variant[] {
  const { node } = variant;
  if (node.properties) return [variant];
  const options = node.oneOf ?? node.anyOf ?? [];
  if (options.length === 0 || !options.every((option) => option.properties)) return [];
  const tag = Object.keys(options[0].properties!).find((name) => options.every((option) => option.properties![name]?.const !== undefined));
  return options.map((option) => ({
    label: tag === undefined ? variant.label : String(option.properties![tag].const),
    node: option,
    required: variant.required,
  }));
}

function row(key: string, variants: readonly Variant[]): string[] {
  const constants = variants.map(({ node }) => node.const);
  const allowed = constants.every((value) => value !== undefined)
    ? [...new Set(constants)].map(markdownCode).join(', ')
    : perVariant(variants, ({ node }) => allowedValues(node));
  return [
    `\`${key}\``,
    perVariant(variants, ({ node, required }) => ('default' in node ? markdownCode(node.default) : required ? 'required' : 'none')),
    allowed,
    perVariant(variants, ({ node }) => secretCell(node)),
    perVariant(variants, ({ node }) => markdownCell(node.description ?? '')),
  ];
}

/** One cell for every variant: the same text when they agree, else each variant's text after its label. */
function perVariant(variants: readonly Variant[], cell: (variant: Variant) => string): string {
  const texts = variants.map(cell);
  if (new Set(texts).size === 1) return texts[0];
  return variants.map((variant, index) => `${variant.label ? `${markdownCode(variant.label)}: ` : ''}${texts[index]}`).join('; ');
}

function allowedValues(node: SchemaNode): string {
  // A number also takes a `${VAR}` reference, its other option.
  const number = [node, ...(node.anyOf ?? [])].find((option) => option.type === 'integer' || option.type === 'number');
  if (number) {
    const { minimum, maximum } = number;
    if (minimum !== undefined && maximum !== undefined) return `${minimum} – ${maximum}`;
    if (minimum !== undefined) return `at least ${minimum}`;
    return maximum !== undefined ? `at most ${maximum}` : '';
  }
  if (node.enum) return node.enum.map(markdownCode).join(', ');
  if (node.minLength !== undefined && node.minLength > 1) return `at least ${node.minLength} characters`;
  return '';
}

const SECRET_PART_NAMES: Readonly<Record<SecretPart, string>> = {
  value: 'yes',
  credential: 'its credential alone (after the scheme)',
  urlPassword: 'its password',
  urlPath: 'its path and query alone',
};

/**
 * What of a key is secret, as its mark says. An object documented as a whole (a plugin's settings) says that
 * it holds marked keys; a list's marked keys have their own rows.
 */
function secretCell(node: SchemaNode): string {
  if (node.secret === true) return (node.secretParts ?? ['value']).map((part) => SECRET_PART_NAMES[part]).join(', ');
  return node.type === 'object' && holdsSecret(node) ? 'the keys marked secret in it' : '';
}

function holdsSecret(node: SchemaNode): boolean {
  const children = [
    ...Object.values(node.properties ?? {}),
    ...(node.items ? [node.items] : []),
    ...(node.anyOf ?? []),
    ...(node.oneOf ?? []),
  ];
  return children.some((child) => child.secret === true || holdsSecret(child));
}
