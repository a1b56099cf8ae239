import { createHash, createHmac } from 'node:crypto';
import { signingKey } from './settings';

/**
 * The Standard Webhooks signature scheme (reference.md §4–§5), the sending side. The receiving side is in the
 * README (a snippet for receivers) and in the testkit (`verifyStandardWebhook`), written apart on purpose.
 */

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the secret's decoded bytes. */
export function signatureOf(signingSecret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', signingKey(signingSecret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/**
 * The `webhook-id` of a delivery: the same for every attempt of it, and for its replays, which send the same
 * delivery again (one delivery per event and destination). The spec asks for an id without `.`, which would
 * break the signed content's framing: a delivery id of other characters than letters, digits, `-` and `_` is hashed.
 */
export function webhookIdOf(deliveryId: string): string {
  if (/^[A-Za-z0-9_-]{1,200}$/.test(deliveryId)) return `msg_${deliveryId}`;
  return `msg_${createHash('sha256').update(deliveryId, 'utf8').digest('base64url')}`;
}
