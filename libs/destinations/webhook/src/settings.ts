import { checkEventNameOverrides, EventNameOverrides, isSet, SalesReporting, secret, whenFieldsValid } from '@ferry/core';
import { z } from 'zod';
import { capabilities } from './capabilities';

/** The Standard Webhooks prefix of a symmetric signing secret (reference.md §3). */
export const SECRET_PREFIX = 'whsec_';
/** The signing secret's size in bytes, as the Standard Webhooks specification bounds it (reference.md §3). */
export const SECRET_BYTES = { min: 24, max: 64 } as const;

const HOW_TO_GENERATE = 'generate one with `echo "whsec_$(openssl rand -base64 32)"`';

/**
 * A signing secret: `whsec_` and the base64 of 24 to 64 random bytes. The message says what is wrong with it,
 * never the value.
 */
const SigningSecret = z.string().superRefine((value, ctx) => {
  const problem = signingSecretProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}; ${HOW_TO_GENERATE}` });
});

function signingSecretProblem(value: string): string | undefined {
  if (!value.startsWith(SECRET_PREFIX)) return `must start with ${SECRET_PREFIX} (a Standard Webhooks secret)`;
  const encoded = value.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0)
    return `must be ${SECRET_PREFIX} followed by standard base64 (A–Z, a–z, 0–9, +, /, = padding)`;
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < SECRET_BYTES.min || bytes > SECRET_BYTES.max)
    return `must hold ${SECRET_BYTES.min} to ${SECRET_BYTES.max} random bytes after ${SECRET_PREFIX}, not ${bytes}`;
  return undefined;
}

/** The signing key: the secret's decoded bytes (reference.md §3). */
export function signingKey(signingSecret: string): Buffer {
  return Buffer.from(signingSecret.slice(SECRET_PREFIX.length), 'base64');
}

/**
 * Headers Ferry sets itself on every request, which a static header may not replace: the signature scheme's,
 * the body's type, and those HTTP derives from the request.
 */
export const RESERVED_HEADERS = [
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
];

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Static headers: names checked here, each at its own path (`headers.X-Api-Key`); values never quoted. */
function checkHeaders(headers: Readonly<Record<string, string>>, ctx: z.RefinementCtx): void {
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const path = ['headers', name];
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path, message: 'is not a valid HTTP header name' });
    else if (RESERVED_HEADERS.includes(lower))
      ctx.addIssue({ code: 'custom', path, message: `is set by Ferry itself; the reserved headers are ${RESERVED_HEADERS.join(', ')}` });
    else if (seen.has(lower)) ctx.addIssue({ code: 'custom', path, message: `repeats header ${seen.get(lower)} (names ignore case)` });
    if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path, message: 'must not contain line breaks or NUL characters' });
    seen.set(lower, name);
  }
}

/**
 * One webhook endpoint's `settings` (SPEC §16); every problem is reported with its path. Strict, so a misspelt
 * key is an error instead of a setting silently ignored. Each `.describe()` is the README's settings table.
 */
export const WebhookSettings = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://billing.internal.example.com/hooks/ferry' })
      .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), { error: 'must not carry credentials (put them in headers)' })
      .refine((url) => !url.includes('#'), { error: 'must not have a fragment' })
      .describe("The endpoint's URL; each event is one `POST` to it. Prefer `https`: the body is signed, not encrypted."),
    // Optional so that a destination whose secret is not set yet still validates: its events wait as paused.
    secret: secret(SigningSecret)
      .optional()
      .describe(
        'The signing secret, `whsec_` and the base64 of 24–64 random bytes, shared with the receiver (one per endpoint). Without it events wait as paused deliveries.',
      ),
    previousSecret: secret(SigningSecret)
      .optional()
      .describe('During a secret rotation, the secret being replaced: until `rotationEndsAt` each request also carries its signature.'),
    rotationEndsAt: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 time with a zone, e.g. 2026-12-01T00:00:00Z' })
      .optional()
      .describe('When the rotation overlap ends: from then on only `secret` signs. Required with `previousSecret`.'),
    headers: secret(z.record(z.string(), z.string()), ['value', 'credential'])
      .optional()
      .describe(
        "Static headers sent with every request, e.g. an `Authorization` for a gateway in front of the receiver. Every value is treated as a secret (at least 8 characters); the `webhook-*` and `Content-Type` headers are Ferry's own.",
      ),
    format: z
      .enum(['ferry', 'revenuecat'])
      .default('ferry')
      .describe(
        "`ferry`: Ferry's normalised event (`GET /schemas/ferry-event.json`); `revenuecat`: the webhook exactly as RevenueCat sent it (the stored body).",
      ),
    eventNames: EventNameOverrides,
    salesReporting: SalesReporting.default('gross').describe(
      'Which revenue `data.revenue` reports (format `ferry`), in the purchase currency.',
    ),
  })
  .superRefine((settings, ctx) => checkEventNameOverrides(capabilities, settings.eventNames, ctx), whenFieldsValid('eventNames'))
  .superRefine((settings, ctx) => checkHeaders(settings.headers ?? {}, ctx), whenFieldsValid('headers'))
  .superRefine(
    (settings, ctx) => {
      if (settings.previousSecret !== undefined && settings.rotationEndsAt === undefined)
        ctx.addIssue({ code: 'custom', path: ['rotationEndsAt'], message: 'is required with previousSecret: say when the overlap ends' });
      if (settings.previousSecret === undefined && settings.rotationEndsAt !== undefined)
        ctx.addIssue({ code: 'custom', path: ['previousSecret'], message: 'is required with rotationEndsAt' });
      if (settings.previousSecret !== undefined && settings.previousSecret === settings.secret)
        ctx.addIssue({ code: 'custom', path: ['previousSecret'], message: 'is the same as secret: give the secret being replaced' });
    },
    whenFieldsValid('secret', 'previousSecret', 'rotationEndsAt'),
  );
export type WebhookSettings = z.output<typeof WebhookSettings>;

/** What keeps the destination from sending at all; its deliveries wait as paused until it is fixed. */
export function missingConfig(settings: WebhookSettings): string[] {
  return isSet(settings.secret) ? [] : ['settings.secret is not set'];
}

/** The signing secrets in force at `nowMs`: the secret, and the previous one until the rotation ends. */
export function signingSecrets(settings: WebhookSettings, nowMs: number): string[] {
  const { secret: current, previousSecret, rotationEndsAt } = settings;
  // missingConfig() keeps deliveries away from here without one; reaching this is a caller bug, not bad input.
  if (!isSet(current)) throw new Error('webhook: settings.secret is not set');
  const overlapping = previousSecret !== undefined && rotationEndsAt !== undefined && nowMs < Date.parse(rotationEndsAt);
  return overlapping ? [current, previousSecret] : [current];
}

/** The documented example: a placeholder secret of the right shape, which the runner refuses as a placeholder. */
export const exampleSettings: WebhookSettings = {
  url: 'https://billing.internal.example.com/hooks/ferry',
  secret: 'whsec_CHANGEME+to+the+output+of+openssl+rand+base64+32',
  format: 'ferry',
  salesReporting: 'gross',
};
