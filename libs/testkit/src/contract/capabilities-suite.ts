import {
  EVENT_KINDS,
  issuesFromZod,
  resolveEventName,
  type AnyDestinationPlugin,
  type EventKind,
  type EventNameOverrides,
  type SubscriptionEvent,
} from '@ferry/core';
import type { FixtureName } from '../fixtures';
import type { DestinationContractOptions } from './options';
import { findFixture, fixtureNames, frozenEvent, kitSettings, parseSettings, violation, type ContractCheck } from './support';

const RENAMED = 'contract_kit_renamed_event';

/** The declared capabilities are well formed and the four hooks behave as they say, for every fixture. */
export function capabilitiesChecks(plugin: AnyDestinationPlugin, options: DestinationContractOptions): ContractCheck[] {
  const { capabilities } = plugin;
  const settingsUnder = () => labelled(kitSettings(plugin, options));
  return [
    { title: 'capabilities are well formed', run: () => checkWellFormed(plugin) },
    ...fixtureNames().map((name) => ({
      title: `fixture ${name}: skipped with a reason, or named, identified and priced, the same way every time`,
      run() {
        for (const [label, settings] of settingsUnder()) checkHooks(plugin, name, settings, label);
      },
    })),
    {
      title: `refunds are ${capabilities.negativeRevenue ? 'reported negative' : 'never reported below 0'} (negativeRevenue: ${capabilities.negativeRevenue})`,
      run() {
        const name = findFixture('refund (a negative price)', (e) => (e.priceUsd ?? 0) < 0);
        const { amount } = plugin.revenue(frozenEvent(name), kitSettings(plugin, options).settings);
        if (!capabilities.negativeRevenue && amount < 0) violation(`revenue of fixture ${name} is ${amount}, below 0`);
        if (capabilities.negativeRevenue && !(amount < 0))
          violation(`revenue of fixture ${name} is ${amount}; a refund should be negative`);
      },
    },
    {
      title: `transfers are ${capabilities.transfers ? 'sent' : 'skipped'} (transfers: ${capabilities.transfers})`,
      run() {
        const name = findFixture('TRANSFER event', (e) => e.type === 'TRANSFER');
        for (const [label, settings] of settingsUnder()) {
          const skip = plugin.filter(frozenEvent(name), settings);
          if (!capabilities.transfers && !skip) violation(`fixture ${name} passes the filter under ${label}`);
          if (capabilities.transfers && skip) violation(`fixture ${name} is skipped under ${label}: ${skip.rule}: ${skip.reason}`);
        }
      },
    },
    {
      title: `sandbox events follow the declared policy (sandbox: '${capabilities.sandbox}')`,
      run: () => checkSandboxPolicy(plugin, options),
    },
    ...EVENT_KINDS.map((kind) => ({
      title: kindTitle(plugin, kind),
      run: () => checkKind(plugin, options, kind),
    })),
    {
      title: 'event types no kind covers (TEST, unknown, …) are skipped',
      run() {
        for (const name of fixtureNames()) {
          const event = frozenEvent(name);
          if (event.kind !== null || event.type === 'TRANSFER') continue;
          for (const [label, settings] of settingsUnder()) {
            if (!plugin.filter(event, settings)) violation(`fixture ${name} (${event.type}) passes the filter under ${label}`);
          }
        }
      },
    },
  ];
}

function labelled(kit: { settings: unknown; sandboxSettings: unknown }): [string, unknown][] {
  const all: [string, unknown][] = [['options.settings', kit.settings]];
  if (kit.sandboxSettings !== undefined) all.push(['options.sandboxSettings', kit.sandboxSettings]);
  return all;
}

function checkWellFormed({ capabilities }: AnyDestinationPlugin): void {
  const positiveInteger = (value: unknown) => Number.isInteger(value) && (value as number) >= 1;
  if (!positiveInteger(capabilities.batch?.maxItems)) violation('batch.maxItems must be an integer ≥ 1');
  if (capabilities.batch.maxBytes !== undefined && !positiveInteger(capabilities.batch.maxBytes)) {
    violation('batch.maxBytes must be an integer ≥ 1 when given');
  }
  if (!positiveInteger(capabilities.maxConcurrency)) violation('maxConcurrency must be an integer ≥ 1');
  if (!['separate-credentials', 'drop', 'forward'].includes(capabilities.sandbox))
    violation(`unknown sandbox policy ${capabilities.sandbox}`);
  const kinds = Object.entries(capabilities.kinds);
  if (kinds.length === 0) violation('kinds is empty: the destination would take nothing');
  for (const [kind, support] of kinds) {
    if (!(EVENT_KINDS as readonly string[]).includes(kind)) violation(`kinds.${kind} is not an event kind`);
    if (typeof support?.defaultName !== 'string' || support.defaultName === '') violation(`kinds.${kind}.defaultName is empty`);
    if (typeof support.optional !== 'boolean') violation(`kinds.${kind}.optional must be true or false`);
  }
}

function checkHooks(plugin: AnyDestinationPlugin, name: FixtureName, settings: unknown, label: string): void {
  const at = `fixture ${name} under ${label}`;
  const once = () => {
    const event = frozenEvent(name);
    const skip = plugin.filter(event, settings);
    if (skip) return { skip };
    return {
      name: plugin.eventName(event, settings),
      identity: plugin.identity(event, settings),
      revenue: plugin.revenue(event, settings),
    };
  };
  const first = once();
  if (JSON.stringify(first) !== JSON.stringify(once())) violation(`${at}: the hooks answered differently the second time`);
  if ('skip' in first) {
    const { rule, reason } = first.skip ?? {};
    if (typeof rule !== 'string' || rule === '' || typeof reason !== 'string' || reason === '') {
      violation(`${at}: a skip needs a rule and a reason`);
    }
    return;
  }
  if (typeof first.name !== 'string' || first.name === '') violation(`${at}: eventName is empty`);
  const identity = Object.entries(first.identity ?? {});
  if (identity.length === 0) violation(`${at}: identity is empty`);
  for (const [field, value] of identity) {
    if (typeof value !== 'string' || value === '') violation(`${at}: identity.${field} must be a non-empty string`);
  }
  if (!Number.isFinite(first.revenue?.amount)) violation(`${at}: revenue amount must be a finite number`);
  if (!/^[A-Z]{3}$/.test(first.revenue.currency)) violation(`${at}: revenue currency must be an ISO 4217 code`);
}

function checkSandboxPolicy(plugin: AnyDestinationPlugin, options: DestinationContractOptions): void {
  const { sandbox, kinds } = plugin.capabilities;
  const name = findFixture('sandbox event of a kind this destination takes', (e) => isSandboxOfDeclaredKind(e, kinds));
  const event = frozenEvent(name);
  const { settings, sandboxSettings } = kitSettings(plugin, options);
  const skipUnder = (s: unknown) => plugin.filter(event, s);
  if (sandbox === 'drop') {
    for (const [label, s] of labelled({ settings, sandboxSettings })) {
      if (!skipUnder(s)) violation(`fixture ${name} passes the filter under ${label}; sandbox events are dropped`);
    }
  } else if (sandbox === 'forward') {
    const skip = skipUnder(settings);
    if (skip) violation(`fixture ${name} is skipped (${skip.rule}: ${skip.reason}); sandbox events are forwarded`);
  } else {
    if (sandboxSettings === undefined) violation("options.sandboxSettings is required for sandbox: 'separate-credentials'");
    if (!skipUnder(settings)) violation(`fixture ${name} passes the filter without sandbox credentials (options.settings)`);
    const skip = skipUnder(sandboxSettings);
    if (skip) violation(`fixture ${name} is skipped with sandbox credentials (${skip.rule}: ${skip.reason})`);
  }
}

export function isSandboxOfDeclaredKind(event: SubscriptionEvent, kinds: AnyDestinationPlugin['capabilities']['kinds']): boolean {
  return event.environment === 'SANDBOX' && event.kind !== null && kinds[event.kind] !== undefined;
}

function kindTitle({ capabilities }: AnyDestinationPlugin, kind: EventKind): string {
  const support = capabilities.kinds[kind];
  if (!support) return `${kind}: not taken, so skipped`;
  return support.optional
    ? `${kind}: sent as "${support.defaultName}", renamed by eventNames, switched off by null or ""`
    : `${kind}: sent as "${support.defaultName}", renamed by eventNames, never switched off`;
}

function checkKind(plugin: AnyDestinationPlugin, options: DestinationContractOptions, kind: EventKind): void {
  const support = plugin.capabilities.kinds[kind];
  const name = findFixture(`production event of kind ${kind}`, (e) => e.kind === kind && e.environment === 'PRODUCTION');
  const event = frozenEvent(name);
  const { settings } = kitSettings(plugin, options);
  const skip = plugin.filter(event, settings);
  if (!support) {
    if (!skip) violation(`fixture ${name} passes the filter, but kinds does not declare ${kind}`);
    return;
  }
  if (skip) violation(`fixture ${name} is skipped (${skip.rule}: ${skip.reason}), but kinds declares ${kind}`);
  const overrides = (settings as { eventNames?: EventNameOverrides }).eventNames;
  const expected = resolveEventName(plugin.capabilities, kind, overrides);
  if (plugin.eventName(event, settings) !== expected) violation(`eventName of fixture ${name} is not "${expected}"`);

  const withName = (value: string | null) => ({ ...options.settings, eventNames: { ...overrides, [kind]: value } });
  const renamed = parseSettings(plugin, withName(RENAMED), `settings with eventNames.${kind} = "${RENAMED}"`);
  if (plugin.eventName(event, renamed) !== RENAMED) violation(`eventNames.${kind} = "${RENAMED}" does not rename fixture ${name}`);

  for (const off of [null, ''] as const) {
    const result = plugin.settings.safeParse(withName(off));
    const label = `eventNames.${kind} = ${JSON.stringify(off)}`;
    if (support.optional) {
      if (!result.success) violation(`${label} is refused, but ${kind} is optional`);
      if (!plugin.filter(event, result.data)) violation(`${label} does not switch fixture ${name} off`);
    } else {
      const paths = result.success ? [] : issuesFromZod(result.error.issues).map((issue) => issue.path);
      if (!paths.includes(`eventNames.${kind}`)) violation(`${label} must be a config error at eventNames.${kind}: ${kind} is required`);
    }
  }
}
