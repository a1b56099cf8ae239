import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A receiver's check of a Standard Webhooks request (libs/destinations/webhook/reference.md), written from the
 * specification and apart from the webhook plugin's signing, so a test that uses it checks the plugin against
 * the spec rather than against itself.
 */

/** The replay window the specification's reference libraries use: 5 minutes either side of now. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface VerifyOptions {
  /** The secrets the receiver trusts (`whsec_` + base64), e.g. the new and the old one during a rotation. */
  readonly secrets: readonly string[];
  /** The receiver's clock, in ms since the epoch. */
  readonly nowMs: number;
  readonly toleranceSeconds?: number;
}

export type Verification =
  | {
      readonly ok: true;
      readonly id: string;
      readonly timestampSeconds: number;
      /** The indexes (in `secrets`) of every trusted secret that one of the request's signatures is made with. */
      readonly matchedSecrets: readonly number[];
      /** How many `v1,` signatures the request carried. */
      readonly signatures: number;
    }
  | { readonly ok: false; readonly reason: string };

/** The key a `whsec_` secret stands for: its base64 part, decoded. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks one request as it arrived: its headers (any case) and its body as raw text, never re-serialised. */
export function verifyStandardWebhook(
  request: { readonly headers: Readonly<Record<string, string | undefined>>; readonly body: string },
  options: VerifyOptions,
): Verification {
  const header = (name: string) => Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1];
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatureList = header('webhook-signature');
  if (!id || !timestamp || !signatureList) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not an integer number of seconds' };
  const timestampSeconds = Number(timestamp);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(options.nowMs / 1000 - timestampSeconds) > tolerance) {
    return { ok: false, reason: `webhook-timestamp is more than ${tolerance} s away from now` };
  }
  const signed = `${id}.${timestamp}.${request.body}`;
  // Space-separated `<version>,<base64>` pairs; only v1 (HMAC-SHA256) is symmetric.
  const signatures = signatureList
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  const matchedSecrets = options.secrets.flatMap((secret, index) => {
    const expected = createHmac('sha256', keyOf(secret)).update(signed, 'utf8').digest();
    return signatures.some((signature) => sameBytes(signature, expected)) ? [index] : [];
  });
  if (matchedSecrets.length === 0) return { ok: false, reason: 'no signature matches a trusted secret' };
  return { ok: true, id, timestampSeconds, matchedSecrets, signatures: signatures.length };
}
