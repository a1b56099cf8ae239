import { z } from 'zod';
import type { EventKind, SubscriptionEvent } from './event';
import type { Capabilities, DestinationPlugin, Identity, KindSupport, Skip } from './plugin';

/** Operator overrides of event names per kind; null or "" switches an optional kind off. */
export const EventNameOverrides = z
  .record(z.string(), z.string().max(512).nullable())
  .optional()
  .describe(
    'Event name per kind, replacing its default name; `null` or `""` switches an optional kind off. Unknown kinds are a config error.',
  );
export type EventNameOverrides = z.infer<typeof EventNameOverrides>;

/**
 * The name for `kind` after overrides, or undefined when the operator switched an optional kind off.
 * Required kinds always have a name: an empty override falls back to the default.
 */
export function resolveEventName(capabilities: Capabilities, kind: EventKind, overrides: EventNameOverrides): string | undefined {
  const support = capabilities.kinds[kind];
  if (!support) return undefined;
  if (overrides && Object.prototype.hasOwnProperty.call(overrides, kind)) {
    const name = overrides[kind];
    if (name) return name;
    return support.optional ? undefined : support.defaultName;
  }
  return support.defaultName;
}

/**
 * Kinds under RevenueCat's own event names (`rc_<kind>_event`), which its integrations send unless the
 * operator renames them: `required` kinds always have a name, `optional` ones can be switched off.
 */
export function revenueCatKinds(required: readonly EventKind[], optional: readonly EventKind[] = []): Capabilities['kinds'] {
  const support = (kind: EventKind, isOptional: boolean): [EventKind, KindSupport] => [
    kind,
    { defaultName: `rc_${kind}_event`, optional: isOptional },
  ];
  return Object.fromEntries([...required.map((kind) => support(kind, false)), ...optional.map((kind) => support(kind, true))]);
}

/** Refines an `eventNames` schema so unknown kinds and blanked required kinds are config errors. */
export function checkEventNameOverrides(capabilities: Capabilities, overrides: EventNameOverrides, ctx: z.RefinementCtx): void {
  for (const [kind, name] of Object.entries(overrides ?? {})) {
    const support = capabilities.kinds[kind as EventKind];
    if (!support) {
      ctx.addIssue({ code: 'custom', path: ['eventNames', kind], message: `unknown or unsupported event kind "${kind}"` });
    } else if (!name && !support.optional) {
      ctx.addIssue({
        code: 'custom',
        path: ['eventNames', kind],
        message: `"${kind}" must have a name (only optional kinds can be switched off)`,
      });
    }
  }
}

export interface StandardFilterOptions {
  readonly eventNames: EventNameOverrides;
  /** For `sandbox: 'separate-credentials'`: whether sandbox credentials are configured. */
  readonly hasSandboxCredentials?: boolean;
}

/**
 * The filter rules every destination shares, driven by its declared capabilities: transfers, kinds it
 * does not take, kinds switched off by name, and sandbox routing. Plugins add their own rules after it.
 */
export function standardFilter(capabilities: Capabilities, event: SubscriptionEvent, options: StandardFilterOptions): Skip | undefined {
  if (event.type === 'TRANSFER' && !capabilities.transfers) {
    return { rule: 'transfer_not_supported', reason: 'this destination takes no transfer events' };
  }
  if (event.kind === null) {
    return { rule: 'unsupported_type', reason: `event type ${event.type} is not forwarded` };
  }
  if (!capabilities.kinds[event.kind]) {
    return { rule: 'unsupported_kind', reason: `this destination takes no ${event.kind} events` };
  }
  if (resolveEventName(capabilities, event.kind, options.eventNames) === undefined) {
    return { rule: 'event_disabled', reason: `${event.kind} is switched off by an empty event name` };
  }
  if (event.environment === 'SANDBOX') {
    if (capabilities.sandbox === 'drop') {
      return { rule: 'sandbox_not_sent', reason: 'this destination takes no sandbox events' };
    }
    if (capabilities.sandbox === 'separate-credentials' && !options.hasSandboxCredentials) {
      return { rule: 'sandbox_without_credentials', reason: 'sandbox event and no sandbox credentials are configured' };
    }
  }
  return undefined;
}

export interface EventHookOptions<S> {
  /** Whether `settings` hold sandbox credentials, for `sandbox: 'separate-credentials'`. */
  readonly hasSandboxCredentials?: (settings: S) => boolean;
  /**
   * For a destination that refuses events without a user key: the plugin's identity hook, and what the
   * `no_user` skip says was looked for. Better said at ingest than learnt from a refusal.
   */
  readonly requiresUser?: { readonly identity: (event: SubscriptionEvent, settings: S) => Identity; readonly missing: string };
}

/**
 * `filter` and `eventName` for a destination whose only rule of its own is the user key. The filter is
 * `standardFilter`, then `no_user` when `requiresUser` finds no identity. The name follows the operator's
 * `eventNames`; naming an event the filter skips throws, as that is a caller bug, not bad input.
 */
export function standardEventHooks<S extends { readonly eventNames?: EventNameOverrides }>(
  pluginId: string,
  capabilities: Capabilities,
  options: EventHookOptions<S> = {},
): Pick<DestinationPlugin<S>, 'filter' | 'eventName'> {
  const { hasSandboxCredentials, requiresUser } = options;
  return {
    filter(event, settings) {
      const skip = standardFilter(capabilities, event, {
        eventNames: settings.eventNames,
        hasSandboxCredentials: hasSandboxCredentials?.(settings),
      });
      if (skip) return skip;
      if (requiresUser && Object.keys(requiresUser.identity(event, settings)).length === 0)
        return { rule: 'no_user', reason: requiresUser.missing };
      return undefined;
    },
    eventName(event, settings) {
      const name = event.kind === null ? undefined : resolveEventName(capabilities, event.kind, settings.eventNames);
      if (name === undefined) throw new Error(`${pluginId}: no event name for ${event.kind ?? event.type}; filter() skips such events`);
      return name;
    },
  };
}

/**
 * A subscriber attribute's value by key, ignoring letter case (`$clevertapId` = `$cleverTapId`); empty counts as
 * absent. `key` is ASCII, as every plugin's is: only a name of its length can then lower-case to it.
 */
export function attributeIgnoringCase(event: SubscriptionEvent, key: string): string | undefined {
  const wanted = key.toLowerCase();
  const { attributes } = event;
  // Asked several times per delivery: names of another length are passed over without lower-casing them.
  for (const name of Object.keys(attributes)) {
    if (name.length === wanted.length && name.toLowerCase() === wanted && attributes[name] !== '') return attributes[name];
  }
  return undefined;
}
