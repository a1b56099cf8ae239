import type { DeliveryRequest, Environment, Planned } from '@ferry/core';
import { capabilities } from './capabilities';
import { buildRecord, type BuiltRecord } from './record';
import { isSet, type CleverTapRegion, type CleverTapSettings } from './settings';

function regionHost(region: CleverTapRegion): string {
  return region === 'eu1' ? 'api.clevertap.com' : `${region}.api.clevertap.com`;
}

function uploadUrl(settings: CleverTapSettings): string {
  const base = settings.endpoint?.replace(/\/+$/, '') ?? `https://${regionHost(settings.region)}`;
  return `${base}/1/upload`;
}

interface Account {
  readonly accountId: string;
  readonly passcode: string;
}

/** Production goes to the main account, sandbox to the sandbox account; never one for the other. */
function accountFor(environment: Environment, settings: CleverTapSettings): Account {
  const [accountId, passcode] =
    environment === 'SANDBOX' ? [settings.sandboxAccountId, settings.sandboxPasscode] : [settings.accountId, settings.passcode];
  if (!isSet(accountId) || !isSet(passcode)) {
    // filter() and missingConfig() keep such deliveries away from here; reaching this is a caller bug, not bad input.
    throw new Error(`clevertap: no ${environment === 'SANDBOX' ? 'sandbox ' : ''}credentials to send ${environment} events with`);
  }
  return { accountId, passcode };
}

const ENVELOPE_BYTES = Buffer.byteLength('{"d":[]}');

interface Item {
  readonly deliveryId: string;
  readonly json: string;
  readonly bytes: number;
  readonly warnings: readonly string[];
}

/** Consecutive runs of items within the batch limits, in order. A record alone over maxBytes still goes, alone. */
function split(items: readonly Item[]): Item[][] {
  const { maxItems, maxBytes = Infinity } = capabilities.batch;
  const chunks: Item[][] = [];
  let chunk: Item[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const item of items) {
    if (chunk.length > 0 && (chunk.length === maxItems || bytes + 1 + item.bytes > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = ENVELOPE_BYTES;
    }
    bytes += item.bytes + (chunk.length > 0 ? 1 : 0); // the comma between records
    chunk.push(item);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function toItem(deliveryId: string, { record, warnings }: BuiltRecord): Item {
  const json = JSON.stringify(record);
  return { deliveryId, json, bytes: Buffer.byteLength(json), warnings };
}

/** Upload requests for a batch: one account per request, ≤ 1000 records and ≤ maxBytes each, in batch order. */
export function buildRequests(batch: readonly Planned[], settings: CleverTapSettings): DeliveryRequest[] {
  const url = uploadUrl(settings);
  const byEnvironment = new Map<Environment, Item[]>();
  for (const planned of batch) {
    const items = byEnvironment.get(planned.event.environment) ?? [];
    items.push(toItem(planned.deliveryId, buildRecord(planned, settings)));
    byEnvironment.set(planned.event.environment, items);
  }
  return [...byEnvironment].flatMap(([environment, items]) => {
    const { accountId, passcode } = accountFor(environment, settings);
    return split(items).map((chunk): DeliveryRequest => {
      const warnings = chunk.flatMap((item) => item.warnings);
      return {
        method: 'POST',
        url,
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'X-CleverTap-Account-Id': accountId,
          'X-CleverTap-Passcode': passcode,
        },
        body: `{"d":[${chunk.map((item) => item.json).join(',')}]}`,
        deliveryIds: chunk.map((item) => item.deliveryId),
        concurrencyKey: `clevertap:${accountId}`,
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    });
  });
}
