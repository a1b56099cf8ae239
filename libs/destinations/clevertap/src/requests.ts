import { byEnvironment, isSet, jsonArrayBodies, urlUnder, type DeliveryRequest, type Environment, type Planned } from '@ferry/core';
import { capabilities } from './capabilities';
import { buildRecords } from './record';
import type { CleverTapRegion, CleverTapSettings } from './settings';

function regionHost(region: CleverTapRegion): string {
  return region === 'eu1' ? 'api.clevertap.com' : `${region}.api.clevertap.com`;
}

/** The API base of these settings: the `endpoint` override, else the region's host. Every CleverTap request goes under it. */
export function apiBase(settings: CleverTapSettings): string {
  return settings.endpoint ?? `https://${regionHost(settings.region)}`;
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

/** Upload requests for a batch: one account per request, ≤ 1000 records and ≤ maxBytes each, in batch order; a delivery's records share a request. */
export function buildRequests(batch: readonly Planned[], settings: CleverTapSettings): DeliveryRequest[] {
  const url = urlUnder(apiBase(settings), '/1/upload');
  return byEnvironment(batch).flatMap(([environment, planned]) => {
    const items = planned.map((p) => {
      const { records, warnings } = buildRecords(p, settings);
      const json = records.map(({ record }) => JSON.stringify(record)).join(',');
      return { deliveryId: p.deliveryId, json, records: records.length, parts: records.map(({ part }) => part), warnings };
    });
    const { accountId, passcode } = accountFor(environment, settings);
    return jsonArrayBodies(items, capabilities.batch, { head: '{"d":', tail: '}' }).map(({ items: carried, body }): DeliveryRequest => {
      const warnings = carried.flatMap((item) => item.warnings);
      return {
        method: 'POST',
        url,
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'X-CleverTap-Account-Id': accountId,
          'X-CleverTap-Passcode': passcode,
        },
        body,
        deliveryIds: carried.map((item) => item.deliveryId),
        // Only when some delivery has more than its event: the rc_ event decides, the others only add a note, and
        // CleverTap's verdict on the profile record says whether it took the subscription state.
        ...(carried.some((item) => item.records > 1) && {
          records: carried.flatMap(({ deliveryId, parts }) =>
            parts.map((part) => ({ deliveryId, part, decides: part === 'event', ...(part === 'profile' && { carriesState: true }) })),
          ),
        }),
        concurrencyKey: `clevertap:${accountId}`,
        ...(warnings.length > 0 ? { warnings } : {}),
      };
    });
  });
}
