import {
  bodyRecords,
  redactRequest,
  secretSettingValues,
  type AnyDestinationPlugin,
  type DeliveryRequest,
  type Planned,
} from '@ferry/core';
import type { FixtureName } from '../fixtures';
import { isSandboxOfDeclaredKind } from './capabilities-suite';
import type { DestinationContractOptions } from './options';
import { findSecret } from './secret-search';
import {
  buildChecked,
  buildSettings,
  deepFreeze,
  deliverableFixtures,
  findFixture,
  fixtureNames,
  frozenEvent,
  kitSettings,
  knownSecrets,
  violation,
  type ContractCheck,
} from './support';

// Each attribute the byte-limit check adds; small enough for destinations that cap property values.
const BULK_VALUE = 'x'.repeat(400);

/** Every fixture the filter lets through becomes well-formed, deterministic requests that give no secret away. */
export function requestsChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  const checks: ContractCheck[] = [
    {
      title: 'every fixture the filter lets through builds well-formed requests, the same every time',
      run() {
        forEachSent(plugin, options, (name, settings, label) => {
          const build = () => buildChecked(plugin, [planned(name)], settings, `fixture ${name} under ${label}`);
          expectSame(build(), build(), `fixture ${name} under ${label}`);
        });
      },
    },
    {
      title: 'the preview shows no secret; concurrency keys and warnings name none',
      run() {
        const secrets = knownSecrets(plugin, kitSettings(plugin, options));
        forEachSent(plugin, options, (name, settings, label) => {
          const values = secretSettingValues(settings, plugin.secrets);
          for (const request of buildChecked(plugin, [planned(name)], settings, `fixture ${name}`)) {
            const at = `fixture ${name} under ${label}`;
            const inPreview = findSecret(JSON.stringify(redactRequest(request, values)), secrets);
            if (inPreview) violation(`${at}: the redacted request still shows ${inPreview}`);
            const inLogs = findSecret(JSON.stringify([request.concurrencyKey, request.warnings ?? []]), secrets);
            if (inLogs) violation(`${at}: concurrencyKey or warnings show ${inLogs}`);
          }
        });
      },
    },
    {
      title: 'a batch of every fixture sent carries each delivery exactly once, the same every time',
      run() {
        for (const [label, settings] of buildSettings(plugin, options)) {
          const names = deliverableFixtures(plugin, settings);
          if (names.length === 0) violation(`no production fixture passes the filter under ${label}`);
          const at = `the batch under ${label}`;
          const build = () => buildChecked(plugin, names.slice(0, plugin.capabilities.batch.maxItems).map(planned), settings, at);
          expectSame(build(), build(), at);
        }
      },
    },
  ];
  if (plugin.capabilities.sandbox === 'separate-credentials') {
    checks.push({
      title: 'sandbox events go to their own concurrency key; production never does',
      run: () => checkSandboxRouting(plugin, options),
    });
  }
  return checks;
}

/**
 * Requests never exceed the declared limits (body records, bytes), and still carry every delivery exactly once.
 * Under the state settings too, where a delivery may have several records.
 */
export function batchingChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  const { maxItems, maxBytes } = plugin.capabilities.batch;
  const checks: ContractCheck[] = [
    {
      title: `maxItems + 1 (${maxItems + 1}) deliveries are split into requests of at most ${maxItems} body records`,
      run: () => checkLimits(plugin, options, maxItems + 1, 0),
    },
  ];
  if (maxBytes !== undefined) {
    // Items of about twice maxBytes in all, so a plugin that splits only by count overflows.
    const bulkyItem = maxItems >= 8 ? Math.ceil((2 * maxBytes) / maxItems) : Math.floor(maxBytes / 4);
    const count = Math.ceil((2 * maxBytes) / bulkyItem) + 1;
    checks.push({
      title: `${count} large deliveries (about ${bulkyItem} bytes each) are split into requests of at most ${maxBytes} bytes`,
      run: () => checkLimits(plugin, options, count, Math.ceil(bulkyItem / BULK_VALUE.length)),
    });
  }
  return checks;
}

function planned(name: FixtureName): Planned {
  return { deliveryId: name, event: frozenEvent(name) };
}

/** Calls `visit` for each fixture the filter lets through, under each of the kit's settings. */
function forEachSent(
  plugin: AnyDestinationPlugin,
  options: DestinationContractOptions,
  visit: (name: FixtureName, settings: unknown, label: string) => void,
): void {
  const { sandboxSettings } = kitSettings(plugin, options);
  const all = buildSettings(plugin, options);
  if (sandboxSettings !== undefined) all.push(['options.sandboxSettings', sandboxSettings]);
  for (const [label, s] of all) {
    for (const name of fixtureNames()) {
      if (!plugin.filter(frozenEvent(name), s)) visit(name, s, label);
    }
  }
}

function expectSame(first: readonly DeliveryRequest[], second: readonly DeliveryRequest[], label: string): void {
  if (first.length !== second.length) violation(`${label}: ${first.length} requests, then ${second.length} from the same input`);
  first.forEach((request, index) => {
    const again = second[index] as unknown as Record<string, unknown>;
    for (const [field, value] of Object.entries(request)) {
      if (JSON.stringify(value) !== JSON.stringify(again[field])) {
        violation(`${label}: request ${index} has a different ${field} when built again from the same input`);
      }
    }
  });
}

function checkLimits(plugin: AnyDestinationPlugin, options: DestinationContractOptions, count: number, bulkAttributes: number): void {
  for (const [label, settings] of buildSettings(plugin, options)) checkLimitsUnder(plugin, settings, label, count, bulkAttributes);
}

function checkLimitsUnder(plugin: AnyDestinationPlugin, settings: unknown, label: string, count: number, bulkAttributes: number): void {
  const { maxItems, maxBytes } = plugin.capabilities.batch;
  const names = deliverableFixtures(plugin, settings);
  if (names.length === 0) violation(`no production fixture passes the filter under ${label}`);
  const bulk = Object.fromEntries(Array.from({ length: bulkAttributes }, (_, i) => [`contract_bulk_${i}`, BULK_VALUE]));
  const batch = Array.from({ length: count }, (_, i): Planned => {
    const event = structuredClone(frozenEvent(names[i % names.length]));
    return {
      deliveryId: `delivery-${i}`,
      event: deepFreeze({ ...event, id: `${event.id}-${i}`, attributes: { ...event.attributes, ...bulk } }),
    };
  });
  const requests = buildChecked(plugin, batch, settings, `a batch of ${count} under ${label}`);
  requests.forEach((request, index) => {
    const at = `under ${label}, request ${index}`;
    const records = bodyRecords(request).length;
    if (records > maxItems) violation(`${at} carries ${records} body records, over maxItems ${maxItems}`);
    const bytes = Buffer.byteLength(request.body, 'utf8');
    if (maxBytes !== undefined && bytes > maxBytes) violation(`${at} has a ${bytes}-byte body, over maxBytes ${maxBytes}`);
  });
}

function checkSandboxRouting(plugin: AnyDestinationPlugin, options: DestinationContractOptions): void {
  const { settings, sandboxSettings } = kitSettings(plugin, options);
  if (sandboxSettings === undefined) violation("options.sandboxSettings is required for sandbox: 'separate-credentials'");
  const [production] = deliverableFixtures(plugin, settings);
  if (!production) violation('no production fixture passes the filter under options.settings');
  const sandbox = findFixture('sandbox event of a kind this destination takes', (e) =>
    isSandboxOfDeclaredKind(e, plugin.capabilities.kinds),
  );

  const mixed = buildChecked(plugin, [planned(production), planned(sandbox)], sandboxSettings, 'production and sandbox together');
  const carrying = (id: string) => mixed.find((request) => request.deliveryIds.includes(id)) as DeliveryRequest;
  const productionRequest = carrying(production);
  const sandboxRequest = carrying(sandbox);
  if (productionRequest === sandboxRequest) violation(`one request carries production ${production} and sandbox ${sandbox}`);
  if (productionRequest.concurrencyKey === sandboxRequest.concurrencyKey) {
    violation('sandbox and production requests share a concurrency key: they should go to different accounts');
  }
  const [alone] = buildChecked(plugin, [planned(production)], settings, `fixture ${production} without sandbox credentials`);
  if (alone.concurrencyKey !== productionRequest.concurrencyKey) {
    violation(`with sandbox credentials set, production fixture ${production} goes to another concurrency key`);
  }
}
