/** A secret setting the kit knows the value of. */
export interface KnownSecret {
  readonly key: string;
  readonly value: string;
}

const BASE64_RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;

/**
 * Where `text` gives a secret away, or undefined: verbatim, URL-encoded, or inside base64 (Basic
 * credentials), which redaction by value cannot see. Names the key, never the value.
 */
export function findSecret(text: string, secrets: readonly KnownSecret[]): string | undefined {
  for (const { key, value } of secrets) {
    if (text.includes(value)) return `secret "${key}" verbatim`;
    if (text.includes(encodeURIComponent(value))) return `secret "${key}" URL-encoded`;
  }
  for (const [run] of text.matchAll(BASE64_RUN)) {
    const decoded = Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
    const found = secrets.find(({ value }) => decoded.includes(value));
    if (found) return `secret "${found.key}" base64-encoded`;
  }
  return undefined;
}
