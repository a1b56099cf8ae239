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
