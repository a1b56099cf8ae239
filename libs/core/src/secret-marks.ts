import { z } from 'zod';
import { MIN_SECRET_LENGTH, stringLeaves } from './redact';

/**
 * What of a secret-marked value is secret, each part redacted wherever text shows it:
 * - `value`: the value as written (every string in it, when it is an object of credentials);
 * - `credential`: an Authorization value's credential after its scheme (`Bearer abc` → `abc`), which a
 *   log line may show on its own;
 * - `urlPassword`: only the password of a `scheme://user:password@host/…` URL, as written and decoded (the
 *   rest of the URL, such as a database's host and name, is not secret);
 * - `urlPath`: a URL's path and query, which an error may show without the host (a Slack incoming webhook's
 *   path is its credential).
 */
export type SecretPart = 'value' | 'credential' | 'urlPassword' | 'urlPath';

/**
 * Marks a setting as a secret, in the schema itself (zod metadata): `apiKey: secret(z.string()).optional()`.
 * Everything else follows from the mark: the plugin's `secrets` (via `secretSettingKeys`), redaction (via
 * `markedSecrets`), the README's settings and configuration tables, and `"secret": true` in the config's JSON
 * Schema. `parts` says which parts are secret when it is not just the value as written.
 */
export function secret<T extends z.ZodType>(schema: T, parts: readonly [SecretPart, ...SecretPart[]] = ['value']): T {
  const onlyTheValue = parts.length === 1 && parts[0] === 'value';
  return schema.meta(onlyTheValue ? { secret: true } : { secret: true, secretParts: [...parts] });
}

/** The secret parts `schema` itself is marked with (this layer, not the ones it wraps), or undefined when unmarked. */
export function secretMarkOf(schema: z.ZodType): readonly SecretPart[] | undefined {
  const meta = z.globalRegistry.get(schema);
  if (meta?.['secret'] !== true) return undefined;
  return (meta['secretParts'] as SecretPart[] | undefined) ?? ['value'];
}

/** A secret-marked value in a parsed value: where it sits, the value there, and which of its parts are secret. */
export interface MarkedSecret {
  readonly path: readonly PropertyKey[];
  readonly value: unknown;
  readonly parts: readonly SecretPart[];
}

/**
 * Every value of `parsed` (the output of `schema`) that the schema marks with `secret`, however deep: in
 * nested objects, arrays, records, and in the option of a discriminated union that the value's discriminator
 * picks (a plugin's settings inside a list of instances). A plain union contributes the marks of each of its
 * options. Throws when no option of a discriminated union fits the value: the value is not `schema`'s output,
 * and a secret would silently go unredacted.
 */
export function markedSecrets(schema: z.ZodType, parsed: unknown): MarkedSecret[] {
  const found: MarkedSecret[] = [];
  collect(schema, parsed, [], found);
  return found;
}

function collect(schema: z.ZodType, value: unknown, path: PropertyKey[], found: MarkedSecret[]): void {
  if (value === undefined || value === null) return;
  const parts = secretMarkOf(schema);
  if (parts) {
    found.push({ path, value, parts });
    return;
  }
  const def = schema._zod.def as unknown as SchemaDef;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'nonoptional':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
      return collect(def.innerType!, value, path, found);
    case 'pipe':
      // The output has the shape of `out`, unless `out` is a transform: then the marks sit on `in`.
      return collect(def.out!._zod.def.type === 'transform' ? def.in! : def.out!, value, path, found);
    case 'lazy':
      return collect(def.getter!(), value, path, found);
    case 'object':
      if (typeof value !== 'object') return;
      for (const [key, field] of Object.entries(def.shape!)) collect(field, (value as Record<string, unknown>)[key], [...path, key], found);
      return;
    case 'record':
      if (typeof value !== 'object') return;
      for (const [key, item] of Object.entries(value)) collect(def.valueType!, item, [...path, key], found);
      return;
    case 'array':
      if (Array.isArray(value)) value.forEach((item, index) => collect(def.element!, item, [...path, index], found));
      return;
    case 'tuple':
      if (Array.isArray(value)) value.forEach((item, index) => collect(def.items![index] ?? def.rest, item, [...path, index], found));
      return;
    case 'intersection':
      collect(def.left!, value, path, found);
      return collect(def.right!, value, path, found);
    case 'union':
      for (const option of unionOptionsFor(def, value, path)) collect(option, value, path, found);
      return;
    default:
      return;
  }
}

/** The parts of a zod definition the walk reads. */
interface SchemaDef {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly getter?: () => z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly valueType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly items?: readonly z.ZodType[];
  readonly rest?: z.ZodType | null;
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly discriminator?: string;
}

function unionOptionsFor(def: SchemaDef, value: unknown, path: readonly PropertyKey[]): readonly z.ZodType[] {
  const options = def.options ?? [];
  if (def.discriminator === undefined) return options;
  const discriminator = def.discriminator;
  const tag = typeof value === 'object' ? (value as Record<string, unknown>)[discriminator] : undefined;
  const matching = options.filter((option) => {
    const field = (option._zod.def as unknown as SchemaDef).shape?.[discriminator];
    return field !== undefined && field.safeParse(tag).success;
  });
  if (matching.length === 0) {
    throw new Error(
      `no option of the schema at "${path.join('.')}" has ${discriminator} ${JSON.stringify(tag)}: is the value the schema's output?`,
    );
  }
  return matching;
}

/**
 * Every string that gives the marked secrets away, each as written (feed them to `secretForms` or a text
 * redactor): the secret parts of each string in each marked value.
 */
export function secretStrings(marked: readonly MarkedSecret[]): string[] {
  const strings = marked.flatMap(({ value, parts }) =>
    stringLeaves(value).flatMap((text) => parts.flatMap((part) => PART_STRINGS[part](text))),
  );
  return [...new Set(strings)].filter((text) => text !== '');
}

const PART_STRINGS: Readonly<Record<SecretPart, (text: string) => string[]>> = {
  value: (text) => [text],
  credential: (text) => [credentialOf(text)],
  urlPassword: (text) => {
    const password = urlPasswordOf(text);
    return password === undefined ? [] : [password, decodedOrAsIs(password)];
  },
  urlPath: (text) => {
    if (!URL.canParse(text)) return [];
    const { pathname, search } = new URL(text);
    // A shorter tail (`/`, `/db`) turns up by chance in ordinary text.
    return pathname.length + search.length >= MIN_SECRET_LENGTH ? [pathname + search] : [];
  },
};

/** An Authorization header value without its scheme ("Bearer abc" → "abc"): the part that is secret on its own. */
export function credentialOf(authorization: string): string {
  return authorization.replace(/^\S+\s+/, '');
}

/** The password of a `scheme://user:password@host/…` URL, as written (percent-encoded), if it has one. */
export function urlPasswordOf(url: string): string | undefined {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@]*:([^@]+)@/.exec(url)?.[1];
}

/** `text` percent-decoded, or as it is when it is not valid percent-encoding. */
export function decodedOrAsIs(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
