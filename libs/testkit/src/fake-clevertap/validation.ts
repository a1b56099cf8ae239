// Per-record validation of `POST /1/upload`, as the reference (clevertap-api.md §8 item 5) describes it:
// rules run in order and the first failing rule decides the record's code.

import { isPlainObject } from '../fake-http/http';

export const MAX_RECORDS_PER_REQUEST = 1000;
export const DEFAULT_MAX_PROPERTIES = 256;
export const MAX_PROPERTY_KEY_CHARS = 120;
export const MAX_PROPERTY_VALUE_BYTES = 512;
/** Values in one multi-value profile property (platform-considerations). */
export const MAX_MULTI_VALUES = 100;
/** Items of one Charged event (CleverTap's docs; its SDK warns above 50). */
export const MAX_CHARGED_ITEMS = 256;
const PROFILE_OPERATORS = new Set(['$add', '$remove', '$incr', '$decr', '$delete']);
/** Epoch seconds stay below this for the next 3000 years; anything above is milliseconds (or nonsense). */
const MAX_EPOCH_SECONDS = 1e11;

/** System events the API refuses to raise (code 513): the documented list, what production was seen to refuse, SDK-reserved names. */
const RESTRICTED_EVENT_NAMES = new Set(
  [
    'Notification Sent',
    'Notification Viewed',
    'Notification Clicked',
    'Notification Delivered',
    'Notification Replied',
    'Notification Bounced',
    'UTM Visited',
    'App Launched',
    'App Uninstalled',
    'App Version Changed',
    'Stayed',
    'Reply Sent',
    'Experiment Rendered',
    'Reachable By',
    'Identity Reset',
    'Identity Set',
    'Identity Error',
    'Web Page Viewed',
    'Geofence Entered',
    'Geofence Exited',
    'wzrk_d',
  ].map(normalizeEventName),
);

const RECORD_TYPES = new Set(['event', 'profile', 'token']);
const IDENTITY_FIELDS = ['identity', 'objectId', 'FBID', 'GPID'] as const;

export interface ValidationRules {
  readonly maxProperties: number;
  readonly rejectOversizedProperties: boolean;
  readonly rejectDollarKeys: boolean;
  /** Event names discarded in the dashboard (code 528), in any spelling. */
  readonly discardedEvents: readonly string[];
}

/** One entry of a response's `unprocessed` array. */
export interface UnprocessedEntry {
  readonly status: 'fail';
  readonly code: number;
  readonly error: string;
  readonly record: unknown;
}

export interface ValidatedBatch {
  readonly accepted: unknown[];
  readonly unprocessed: UnprocessedEntry[];
}

interface Rejection {
  readonly code: number;
  readonly summary: string;
  readonly detail: string;
}

/** A validator for the records of one request; `unprocessed` errors number records from 1, like CleverTap. */
export function createRecordValidator(rules: ValidationRules): (records: readonly unknown[]) => ValidatedBatch {
  const discarded = new Set(rules.discardedEvents.map(normalizeEventName));
  return (records) => {
    const accepted: unknown[] = [];
    const unprocessed: UnprocessedEntry[] = [];
    records.forEach((record, index) => {
      const rejection = checkRecord(record, rules, discarded);
      if (!rejection) {
        accepted.push(record);
        return;
      }
      const { code, summary, detail } = rejection;
      const error = `${summary}. ErrorCode: ${code} - ${detail}. Skipped record number : ${index + 1}`;
      unprocessed.push({ status: 'fail', code, error, record });
    });
    return { accepted, unprocessed };
  };
}

/** CleverTap compares event names ignoring case and spaces (`SignUp` = `sign up`). */
function normalizeEventName(name: string): string {
  return name.replace(/\s+/g, '').toLowerCase();
}

function checkRecord(record: unknown, rules: ValidationRules, discarded: ReadonlySet<string>): Rejection | undefined {
  if (!isPlainObject(record) || typeof record['type'] !== 'string' || !RECORD_TYPES.has(record['type'])) {
    return { code: 524, summary: 'Record type is incorrect', detail: 'Data is neither an event nor a profile' };
  }
  if (!IDENTITY_FIELDS.some((field) => isPresentIdentity(record[field]))) {
    return { code: 523, summary: 'Identity is missing', detail: 'One of identity, objectId, FBID or GPID is mandatory' };
  }
  const ts = record['ts'];
  if (ts !== undefined && !isEpochSeconds(ts)) {
    return { code: 525, summary: 'Timestamp is incorrect', detail: 'ts must be a UNIX epoch in seconds' };
  }
  if (record['type'] === 'event') return checkEvent(record, rules, discarded);
  if (record['type'] === 'profile') return checkProfile(record);
  return undefined;
}

function checkEvent(record: Record<string, unknown>, rules: ValidationRules, discarded: ReadonlySet<string>): Rejection | undefined {
  const name = record['evtName'];
  if (typeof name !== 'string' || name.trim() === '') {
    return { code: 509, summary: 'Event Name is incorrect', detail: 'Event name is mandatory' };
  }
  const normalized = normalizeEventName(name);
  if (RESTRICTED_EVENT_NAMES.has(normalized)) {
    return { code: 513, summary: 'Event Name is incorrect', detail: 'Trying to raise a restricted system event' };
  }
  if (discarded.has(normalized)) {
    return { code: 528, summary: 'Event Name is incorrect', detail: 'Event has been discarded' };
  }
  if (!('evtData' in record)) return undefined;
  const data = record['evtData'];
  const invalid = (detail: string): Rejection => ({ code: 512, summary: 'Event Data is incorrect', detail });
  if (!isPlainObject(data)) return invalid('evtData must be an object');
  const properties = Object.entries(data);
  // Only a Charged event may nest, and only its Items: a list of flat objects.
  const isChargedItems = (key: string, value: unknown) =>
    normalized === 'charged' && key === 'Items' && Array.isArray(value) && value.every(isFlatObject);
  const nested = properties.find(([key, value]) => value !== null && typeof value === 'object' && !isChargedItems(key, value));
  if (nested) return invalid(`Property ${quote(nested[0])} holds a nested value`);
  const items = data['Items'];
  if (normalized === 'charged' && Array.isArray(items) && items.length > MAX_CHARGED_ITEMS) {
    return invalid(`Items holds ${items.length} items, at most ${MAX_CHARGED_ITEMS}`);
  }
  if (properties.length > rules.maxProperties) {
    const detail = `Event properties limit exceeded (${properties.length} > ${rules.maxProperties})`;
    return { code: 522, summary: 'Event Data is incorrect', detail };
  }
  for (const [key, value] of properties) {
    if (rules.rejectOversizedProperties && key.length > MAX_PROPERTY_KEY_CHARS) {
      return invalid(`Property key ${quote(key)} is longer than ${MAX_PROPERTY_KEY_CHARS} characters`);
    }
    if (rules.rejectOversizedProperties && typeof value === 'string' && Buffer.byteLength(value) > MAX_PROPERTY_VALUE_BYTES) {
      return invalid(`Property ${quote(key)} has a value longer than ${MAX_PROPERTY_VALUE_BYTES} bytes`);
    }
    if (rules.rejectDollarKeys && key.startsWith('$')) return invalid(`Property key ${quote(key)} starts with $`);
  }
  return undefined;
}

const oneOf =
  (...allowed: unknown[]) =>
  (value: unknown) =>
    allowed.includes(value);
const matches = (pattern: RegExp) => (value: unknown) => typeof value === 'string' && pattern.test(value);

/** Standard profile fields with a fixed format (codes 514–520). */
const PROFILE_FIELD_RULES: readonly { field: string; code: number; detail: string; valid: (value: unknown) => boolean }[] = [
  { field: 'Gender', code: 514, detail: 'Gender must be M or F', valid: oneOf('M', 'F') },
  { field: 'Email', code: 515, detail: 'Email is invalid', valid: matches(/^[^\s@]+@[^\s@]+\.[^\s@]+$/) },
  { field: 'Phone', code: 516, detail: 'Phone must be + and country code (E.164)', valid: matches(/^\+[1-9]\d{6,14}$/) },
  { field: 'Employed', code: 517, detail: 'Employed must be Y or N', valid: oneOf('Y', 'N') },
  { field: 'Education', code: 518, detail: 'Education must be School, College or Graduate', valid: oneOf('School', 'College', 'Graduate') },
  { field: 'Married', code: 519, detail: 'Married must be Y or N', valid: oneOf('Y', 'N') },
  {
    field: 'Age',
    code: 520,
    detail: 'Age must be a number',
    valid: (value) => (typeof value === 'number' && Number.isFinite(value)) || matches(/^\d+(\.\d+)?$/)(value),
  },
];

function checkProfile(record: Record<string, unknown>): Rejection | undefined {
  if (!('profileData' in record)) return undefined;
  const data = record['profileData'];
  if (!isPlainObject(data)) return { code: 512, summary: 'Profile Data is incorrect', detail: 'profileData must be an object' };
  for (const rule of PROFILE_FIELD_RULES) {
    if (rule.field in data && !rule.valid(data[rule.field])) {
      return { code: rule.code, summary: 'Profile Data is incorrect', detail: rule.detail };
    }
  }
  for (const [key, value] of Object.entries(data)) {
    const problem = profileValueProblem(key, value);
    if (problem) return { code: 512, summary: 'Profile Data is incorrect', detail: problem };
  }
  return undefined;
}

/** Why CleverTap would refuse a profile property (platform-considerations): key length, value type and size, dates, multi-values. */
function profileValueProblem(key: string, value: unknown): string | undefined {
  if (key.length > MAX_PROPERTY_KEY_CHARS) return `Profile key ${quote(key)} is longer than ${MAX_PROPERTY_KEY_CHARS} characters`;
  if (Array.isArray(value)) {
    if (value.length > MAX_MULTI_VALUES) return `Multi-value ${quote(key)} holds ${value.length} values, at most ${MAX_MULTI_VALUES}`;
    const bad = value.find((item) => typeof item !== 'string' || item.length > MAX_PROPERTY_VALUE_BYTES);
    return bad === undefined ? undefined : `Multi-value ${quote(key)} holds a value that is not a string of at most 512 characters`;
  }
  if (typeof value === 'string') {
    if (Buffer.byteLength(value) > MAX_PROPERTY_VALUE_BYTES) return `Profile ${quote(key)} has a value longer than 512 bytes`;
    if (value.startsWith('$D_') && !(/^\$D_\d+$/.test(value) && isEpochSeconds(Number(value.slice(3)))))
      return `Profile ${quote(key)} is not a date "$D_<epoch seconds>"`;
    return undefined;
  }
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return undefined;
  // Update operators ({"$add": [...]}, {"$incr": 1}, …) are the only objects a profile takes.
  if (isPlainObject(value) && Object.keys(value).length === 1 && PROFILE_OPERATORS.has(Object.keys(value)[0])) return undefined;
  return `Profile ${quote(key)} has a value of a type CleverTap does not take`;
}

function isEpochSeconds(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < MAX_EPOCH_SECONDS;
}

function isFlatObject(value: unknown): boolean {
  return isPlainObject(value) && Object.values(value).every((v) => v === null || typeof v !== 'object');
}

function isPresentIdentity(value: unknown): boolean {
  return (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value));
}

/** A key as it appears in an error: quoted, and cut short so one absurd key cannot flood a log. */
function quote(key: string): string {
  return `'${key.length > 40 ? `${key.slice(0, 40)}…` : key}'`;
}
