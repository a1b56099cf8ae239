import type { Environment } from './event';
import type { Capabilities, Planned } from './plugin';

/** The batch by environment, in order of first appearance and each in batch order: the two never share a request. */
export function byEnvironment(batch: readonly Planned[]): [Environment, Planned[]][] {
  const groups = new Map<Environment, Planned[]>();
  for (const planned of batch) {
    const group = groups.get(planned.event.environment) ?? [];
    group.push(planned);
    groups.set(planned.event.environment, group);
  }
  return [...groups];
}

/** Whatever a plugin keeps about one delivery's part of a body, with that part as JSON text. */
export interface JsonItem {
  readonly json: string;
  /** How many body records `json` holds (comma-separated); 1 when absent. Batch limits count records. */
  readonly records?: number;
}

/** One request body and the items it carries, in body order. */
export interface JsonArrayBody<T extends JsonItem> {
  readonly items: T[];
  readonly body: string;
}

/**
 * Request bodies `head[item,item,…]tail` carrying `items` in consecutive runs, in order, each within
 * `limits` (records per body, bytes of the whole body); an item's records never split across bodies. An item alone over `maxBytes` still goes, alone:
 * the destination's answer decides its fate.
 */
export function jsonArrayBodies<T extends JsonItem>(
  items: readonly T[],
  limits: Capabilities['batch'],
  envelope: { readonly head: string; readonly tail: string },
): JsonArrayBody<T>[] {
  const { maxItems, maxBytes = Infinity } = limits;
  const envelopeBytes = Buffer.byteLength(`${envelope.head}[]${envelope.tail}`);
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = envelopeBytes;
  let records = 0;
  for (const item of items) {
    const itemBytes = Buffer.byteLength(item.json);
    const itemRecords = item.records ?? 1;
    if (run.length > 0 && (records + itemRecords > maxItems || bytes + 1 + itemBytes > maxBytes)) {
      runs.push(run);
      run = [];
      bytes = envelopeBytes;
      records = 0;
    }
    bytes += itemBytes + (run.length > 0 ? 1 : 0); // the comma between items
    records += itemRecords;
    run.push(item);
  }
  if (run.length > 0) runs.push(run);
  return runs.map((items) => ({ items, body: `${envelope.head}[${items.map((item) => item.json).join(',')}]${envelope.tail}` }));
}

/** One delivery's records in a body of several named arrays: the JSON text of each, by the array it goes in. */
export interface JsonArraysItem {
  readonly arrays: Readonly<Record<string, readonly string[]>>;
}

/** One request body of named arrays, the items it carries, and its records in body order (array by array). */
export interface JsonArraysBody<T extends JsonArraysItem> {
  readonly items: T[];
  readonly body: string;
  readonly records: readonly { readonly item: T; readonly array: string }[];
}

/**
 * Request bodies `{"a":[…],"b":[…]}` with the arrays in `arrayNames` order (empty ones left out), for APIs
 * whose one request carries records of several kinds counted against one limit (Braze's attributes, events and
 * purchases: 75 objects in all). Items go in consecutive runs, in order, each run within `limits` (records of
 * every array together, bytes of the whole body); an item's records never split across bodies. An item alone
 * over `maxBytes` still goes, alone.
 */
export function jsonArraysBodies<T extends JsonArraysItem>(
  items: readonly T[],
  limits: Capabilities['batch'],
  arrayNames: readonly string[],
): JsonArraysBody<T>[] {
  const { maxItems, maxBytes = Infinity } = limits;
  const unknown = items.flatMap((item) => Object.keys(item.arrays)).find((name) => !arrayNames.includes(name));
  if (unknown !== undefined) throw new Error(`jsonArraysBodies: array "${unknown}" is not one of ${arrayNames.join(', ')}`);
  // Bytes are counted as if every array were present: a bound the body never exceeds.
  const envelopeBytes = Buffer.byteLength(`{${arrayNames.map((name) => `${JSON.stringify(name)}:[]`).join(',')}}`);
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = envelopeBytes;
  let records = 0;
  for (const item of items) {
    const texts = arrayNames.flatMap((name) => item.arrays[name] ?? []);
    const itemBytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text) + 1, 0); // each with a comma
    if (run.length > 0 && (records + texts.length > maxItems || bytes + itemBytes > maxBytes)) {
      runs.push(run);
      run = [];
      bytes = envelopeBytes;
      records = 0;
    }
    bytes += itemBytes;
    records += texts.length;
    run.push(item);
  }
  if (run.length > 0) runs.push(run);
  return runs.map((carried) => {
    const records = arrayNames.flatMap((array) => carried.flatMap((item) => (item.arrays[array] ?? []).map(() => ({ item, array }))));
    const arrays = arrayNames
      .map((name) => [name, carried.flatMap((item) => item.arrays[name] ?? [])] as const)
      .filter(([, texts]) => texts.length > 0)
      .map(([name, texts]) => `${JSON.stringify(name)}:[${texts.join(',')}]`);
    return { items: carried, body: `{${arrays.join(',')}}`, records };
  });
}
