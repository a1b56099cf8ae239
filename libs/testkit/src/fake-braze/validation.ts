import { isPlainObject } from '../fake-http/http';

/** `/users/track`'s arrays, in the order Braze processes them (reference/braze.md §1.2). */
export const BRAZE_ARRAYS = ['attributes', 'events', 'purchases'] as const;
export type BrazeArray = (typeof BRAZE_ARRAYS)[number];

const IDENTIFIERS = ['external_id', 'user_alias', 'braze_id', 'email', 'phone'] as const;
const MAX_TEXT = 255;
const RESERVED_PROPERTIES = ['time', 'event_name'];

/** One of Braze's per-object errors, as its answer lists them. */
export interface ObjectError {
  readonly type: string;
  readonly input_array: BrazeArray;
  readonly index: number;
}

/** The profile an object is about, as a key (`external_id:…`, `alias:<label>:<name>`), and whether it is an alias. */
export interface ObjectUser {
  readonly key: string;
  readonly alias: boolean;
}

/** The user an object names, or the error type when it names none or several, or names one badly. */
export function objectUser(object: Record<string, unknown>): ObjectUser | string {
  const given = IDENTIFIERS.filter((field) => object[field] !== undefined);
  if (given.length !== 1) return `exactly one of ${IDENTIFIERS.join(', ')} is required`;
  const [field] = given;
  const value = object[field];
  if (field === 'user_alias') {
    if (!isPlainObject(value) || !isText(value['alias_name']) || !isText(value['alias_label'])) {
      return "'user_alias' needs a non-empty 'alias_name' and 'alias_label'";
    }
    return { key: `alias:${value['alias_label']}:${value['alias_name']}`, alias: true };
  }
  if (!isText(value)) return `'${field}' is not valid`;
  return { key: `${field}:${value}`, alias: false };
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_TEXT;
}

/** ISO 8601 as Braze reads it: a date and a time (`2025-03-01T10:00:02.000Z`). */
function isTime(value: unknown): boolean {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value));
}

/** Property keys: non-empty, ≤ 255 characters, no leading `$`, not `time` or `event_name`; strings ≤ 255. */
function propertiesError(properties: unknown): string | undefined {
  if (properties === undefined) return undefined;
  if (!isPlainObject(properties)) return "'properties' is not valid";
  for (const [key, value] of Object.entries(properties)) {
    if (key === '' || key.length > MAX_TEXT || key.startsWith('$') || RESERVED_PROPERTIES.includes(key)) {
      return `property key '${key.slice(0, 50)}' is not valid`;
    }
    if (typeof value === 'string' && value.length > MAX_TEXT) return `property '${key.slice(0, 50)}' is longer than ${MAX_TEXT} characters`;
  }
  return undefined;
}

/** Why Braze would refuse this object of `array`, or undefined when it is valid (reference/braze.md §1.3–§1.5). */
export function objectError(array: BrazeArray, object: unknown): string | undefined {
  if (!isPlainObject(object)) return 'object is not valid';
  const user = objectUser(object);
  if (typeof user === 'string') return user;
  const updateExistingOnly = object['_update_existing_only'];
  if (updateExistingOnly !== undefined && typeof updateExistingOnly !== 'boolean') return "'_update_existing_only' is not valid";
  switch (array) {
    case 'attributes':
      for (const [key, value] of Object.entries(object)) {
        if ((IDENTIFIERS as readonly string[]).includes(key) || key === '_update_existing_only') continue;
        if (key === '' || key.length > MAX_TEXT || key.startsWith('$')) return `attribute key '${key.slice(0, 50)}' is not valid`;
        if (typeof value === 'string' && value.length > MAX_TEXT)
          return `attribute '${key.slice(0, 50)}' is longer than ${MAX_TEXT} characters`;
        if (Array.isArray(value) && value.length > 100) return `attribute '${key.slice(0, 50)}' has more than 100 values`;
      }
      return undefined;
    case 'events':
      if (!isText(object['name'])) return "'name' is required";
      if (!isTime(object['time'])) return "'time' is not valid";
      return propertiesError(object['properties']);
    case 'purchases': {
      const quantity = object['quantity'];
      if (!isText(object['product_id'])) return "'product_id' is not valid";
      if (typeof object['currency'] !== 'string' || !/^[A-Z]{3}$/.test(object['currency'])) return "'currency' is not valid";
      if (typeof object['price'] !== 'number' || !Number.isFinite(object['price'])) return "'price' is not valid";
      if (quantity !== undefined && !(Number.isInteger(quantity) && (quantity as number) >= 1 && (quantity as number) <= 100)) {
        return "'quantity' is not valid";
      }
      if (!isTime(object['time'])) return "'time' is not valid";
      return propertiesError(object['properties']);
    }
  }
}
