import type { DeliveryRequest } from './plugin';

export const REDACTED = '[redacted]';

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
 * Replaces every occurrence of each secret value in `text`. The last line of defence for strings that
 * may embed a secret (request dumps, error messages from a server echoing headers).
 */
export function redactText(text: string, secretValues: Iterable<string>): string {
  let out = text;
  for (const secret of secretValues) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * Every form a secret setting could take in a request or an error: the values of the secret keys
 * (nested strings too: a secret may be an object of credentials), as configured, JSON-escaped and
 * percent-encoded. Feed them to `redactText` and `redactRequest`.
 */
export function secretSettingValues(settings: unknown, secrets: readonly string[]): string[] {
  if (settings === null || typeof settings !== 'object') return [];
  const values = new Set<string>();
  for (const key of secrets) {
    for (const value of stringLeaves((settings as Record<string, unknown>)[key])) {
      values.add(value);
      values.add(JSON.stringify(value).slice(1, -1));
      values.add(encodeURIComponent(value));
    }
  }
  return [...values];
}

function stringLeaves(value: unknown): string[] {
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
