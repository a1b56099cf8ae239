// Per-event checks of the HTTP V2 and Batch APIs (reference/amplitude.md §1.2, §4 item 4). Amplitude refuses
// the whole request when any event fails and lists the failing events by index, per field.

import { isPlainObject } from '../fake-http/http';

/** Amplitude's default when a request's `options.min_id_length` is not set. */
export const DEFAULT_MIN_ID_LENGTH = 5;

/** Ids Amplitude refuses outright (AV2), compared without letter case. */
const BLOCKED_IDS = new Set([
  'anonymous',
  'nil',
  'none',
  'null',
  'n/a',
  'na',
  'undefined',
  'unknown',
  '0',
  '-1',
  '{}',
  'lmy47d',
  '00000000-0000-0000-0000-000000000000',
]);

const ID_FIELDS = ['user_id', 'device_id'] as const;
const NUMBER_FIELDS = ['revenue', 'price', 'quantity', 'session_id', 'location_lat', 'location_lng'];
const OBJECT_FIELDS = ['event_properties', 'user_properties', 'groups', 'group_properties'];

/** Field → indexes of the events it failed on, as Amplitude lists them. */
export type FieldIndexes = Record<string, number[]>;

export interface EventProblems {
  readonly invalidFields: FieldIndexes;
  readonly missingFields: FieldIndexes;
  readonly invalidIdLengths: FieldIndexes;
}

/** The ids an event is counted and deduplicated under, once too-short ones are stripped. */
export interface EventIds {
  readonly userId?: string;
  readonly deviceId?: string;
}

export interface CheckedEvents {
  /** Empty when every event passed. */
  readonly problems: Partial<EventProblems>;
  readonly ids: readonly EventIds[];
}

/** Checks every event; `firstIndexOnly` lists only the first failing event per field (AV2's prose, not its examples). */
export function checkEvents(events: readonly Record<string, unknown>[], minIdLength: number, firstIndexOnly: boolean): CheckedEvents {
  const found: EventProblems = { invalidFields: {}, missingFields: {}, invalidIdLengths: {} };
  const note = (list: FieldIndexes, field: string, index: number) => {
    const indexes = (list[field] ??= []);
    if (!firstIndexOnly || indexes.length === 0) indexes.push(index);
  };

  const ids = events.map((event, index): EventIds => {
    const type = event['event_type'];
    if (type === undefined || type === null) note(found.missingFields, 'event_type', index);
    else if (typeof type !== 'string' || type.trim() === '' || type.startsWith('[Amplitude]'))
      note(found.invalidFields, 'event_type', index);
    const time = event['time'];
    if (time !== undefined && !(Number.isSafeInteger(time) && (time as number) >= 0)) note(found.invalidFields, 'time', index);
    if (event['insert_id'] !== undefined && typeof event['insert_id'] !== 'string') note(found.invalidFields, 'insert_id', index);
    for (const field of NUMBER_FIELDS) {
      if (event[field] !== undefined && !Number.isFinite(event[field])) note(found.invalidFields, field, index);
    }
    for (const field of OBJECT_FIELDS) {
      if (event[field] !== undefined && !isPlainObject(event[field])) note(found.invalidFields, field, index);
    }

    const kept: Partial<Record<(typeof ID_FIELDS)[number], string>> = {};
    const tooShort: string[] = [];
    let invalidId = false;
    for (const field of ID_FIELDS) {
      const value = event[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string' || BLOCKED_IDS.has(value.toLowerCase())) {
        note(found.invalidFields, field, index);
        invalidId = true;
      } else if (value.length < minIdLength)
        tooShort.push(field); // Amplitude drops a short id and keeps the event
      else kept[field] = value;
    }
    if (kept.user_id === undefined && kept.device_id === undefined && !invalidId) {
      // Which field Amplitude names for an event with no id at all is undocumented; user_id is our guess.
      if (tooShort.length > 0) for (const field of tooShort) note(found.invalidIdLengths, field, index);
      else note(found.missingFields, 'user_id', index);
    }
    return { userId: kept.user_id, deviceId: kept.device_id };
  });

  const problems = Object.fromEntries(Object.entries(found).filter(([, list]) => Object.keys(list).length > 0)) as Partial<EventProblems>;
  return { problems, ids };
}
