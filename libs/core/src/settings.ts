import { z } from 'zod';

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
