import type { DeliveryRequest } from './plugin';

export const REDACTED = '[redacted]';

/**
 * The shortest secret the config accepts. A shorter value turns up by chance in ordinary text, so
 * scrubbing it would mangle logs, and its base64 forms (see `secretForms`) would be too short to scrub
 * at all; 8 characters is also the floor below which a credential is guessable.
 */
export const MIN_SECRET_LENGTH = 8;

/** A copy of `settings` with every secret key's value replaced, for previews, errors and admin output. */
export function redactSettings<T>(settings: T, secrets: readonly string[]): T {
  if (settings === null || typeof settings !== 'object') return settings;
  const copy: Record<string, unknown> = { ...(settings as Record<string, unknown>) };
  for (const key of secrets) {
    if (copy[key] !== undefined && copy[key] !== null && copy[key] !== '') copy[key] = REDACTED;
  }
  return copy as T;
}

/**
 * Replaces every occurrence of each value in `text`. The last line of defence for strings that may
 * embed a secret (request dumps, error messages from a server echoing headers). Pass the output of
 * `secretForms`/`secretSettingValues`, so the transformed echoes of a secret go too.
 */
export function redactText(text: string, secretValues: Iterable<string>): string {
  let out = text;
  for (const secret of secretValues) {
    if (secret !== '') out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A value as text commonly carries it: as is, JSON-escaped (inside a JSON string) and percent-encoded. */
export function textForms(value: string): string[] {
  return [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
}

/**
 * Every form in which text may echo the given secrets, longest first (so a form that contains another
 * is replaced whole): as is, JSON-escaped, percent- and form-encoded, and inside base64 or base64url
 * at any of the three byte alignments, which covers `Basic base64(user:secret)` whatever the user.
 */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const form of textForms(secret)) forms.add(form);
    forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
    for (const fragment of base64Fragments(secret)) forms.add(fragment);
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * The base64 characters that depend on the secret's bytes alone, for each of the 3 offsets at which it
 * can start within an encoded run. Fragments shorter than MIN_SECRET_LENGTH are left out: they could
 * match by chance (the config refuses secrets short enough to have them).
 */
function base64Fragments(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const fragments: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const fragment = encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6));
    if (fragment.length < MIN_SECRET_LENGTH) continue;
    fragments.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return fragments;
}

/**
 * The values of the secret keys (nested strings too: a secret may be an object of credentials), in
 * every form text may echo them (`secretForms`). Feed them to `redactText` and `redactRequest`.
 */
export function secretSettingValues(settings: unknown, secrets: readonly string[]): string[] {
  return secretForms(secretSettingLeaves(settings, secrets));
}

/** The configured values of the secret keys, as written (nested strings too). */
export function secretSettingLeaves(settings: unknown, secrets: readonly string[]): string[] {
  if (settings === null || typeof settings !== 'object') return [];
  return secrets.flatMap((key) => stringLeaves((settings as Record<string, unknown>)[key]));
}

/** Every non-empty string in `value`: the value itself, or each string nested in it. */
export function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringLeaves);
  return [];
}

/** A copy of `request` safe to show (preview, dumps): every secret value replaced wherever one could sit. */
export function redactRequest(request: DeliveryRequest, secretValues: readonly string[]): DeliveryRequest {
  const redact = (text: string) => redactText(text, secretValues);
  return {
    ...request,
    url: redact(request.url),
    headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, redact(value)])),
    body: redact(request.body),
    concurrencyKey: redact(request.concurrencyKey),
    ...(request.warnings && { warnings: request.warnings.map(redact) }),
  };
}
