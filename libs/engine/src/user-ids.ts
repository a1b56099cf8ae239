import { textForms, userIdsOf, type SubscriptionEvent } from '@ferry/core';

/** What stands in a log line or an alert for a user id a destination echoed back. */
export const USER_ID_REDACTED = '[user id]';

/** The identity attributes destinations key profiles by (`$clevertapId`, `$amplitudeUserId`, `$amplitudeDeviceId`, …). */
const IDENTITY_ATTRIBUTE = /^\$.+id$/i;

/** Every id of the customer an event names: its user ids (userIdsOf) and its identity attributes. */
export function customerIdsOf(event: SubscriptionEvent): string[] {
  const identities = Object.entries(event.attributes)
    .filter(([key, value]) => IDENTITY_ATTRIBUTE.test(key) && value !== '')
    .map(([, value]) => value);
  return [...userIdsOf(event), ...identities];
}

/** A letter, digit or underscore: an id next to one is part of a longer word, not the id itself. */
const WORD_CHARACTER = /[\p{L}\p{N}_]/u;
const joins = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && WORD_CHARACTER.test(a) && WORD_CHARACTER.test(b);

/**
 * Replaces each of `ids` in `text` (as is, JSON-escaped or URL-encoded) where it stands whole, not inside a
 * longer word, so a short id ("42") leaves "HTTP 429" alone. For the texts a destination echoes back
 * (error bodies) before they reach logs and alerts: these outlive an erasure.
 */
export function redactUserIds(text: string, ids: Iterable<string>): string {
  const forms = new Set<string>();
  for (const id of ids) {
    if (id === '') continue;
    for (const form of textForms(id)) forms.add(form);
  }
  if (forms.size === 0) return text;
  // Every whole occurrence in the text as given, then the longest of overlapping ones, so no replacement is matched again.
  const found: [start: number, end: number][] = [];
  for (const form of forms) {
    for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
      const end = at + form.length;
      if (!joins(text[at - 1], form[0]) && !joins(form[form.length - 1], text[end])) found.push([at, end]);
    }
  }
  found.sort(([a, aEnd], [b, bEnd]) => a - b || bEnd - aEnd);
  let out = '';
  let from = 0;
  for (const [at, end] of found) {
    if (at < from) continue;
    out += text.slice(from, at) + USER_ID_REDACTED;
    from = end;
  }
  return out + text.slice(from);
}
