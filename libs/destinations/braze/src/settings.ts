import {
  BaseUrl,
  checkEventNameOverrides,
  EventNameOverrides,
  isSet,
  SalesReporting,
  secret,
  urlUnder,
  whenFieldsValid,
} from '@ferry/core';
import { z } from 'zod';
import { capabilities } from './capabilities';

/**
 * Braze's instances and their REST endpoints (reference/braze.md §1.1). US-10 is `rest.us-10`, not `rest.iad-10`:
 * deriving hosts from the name breaks there, so each is listed.
 */
export const BRAZE_INSTANCES = {
  'US-01': 'https://rest.iad-01.braze.com',
  'US-02': 'https://rest.iad-02.braze.com',
  'US-03': 'https://rest.iad-03.braze.com',
  'US-04': 'https://rest.iad-04.braze.com',
  'US-05': 'https://rest.iad-05.braze.com',
  'US-06': 'https://rest.iad-06.braze.com',
  'US-07': 'https://rest.iad-07.braze.com',
  'US-08': 'https://rest.iad-08.braze.com',
  'US-10': 'https://rest.us-10.braze.com',
  'EU-01': 'https://rest.fra-01.braze.eu',
  'EU-02': 'https://rest.fra-02.braze.eu',
  'AU-01': 'https://rest.au-01.braze.com',
} as const;
export type BrazeInstance = keyof typeof BRAZE_INSTANCES;
const INSTANCE_NAMES = Object.keys(BRAZE_INSTANCES) as [BrazeInstance, ...BrazeInstance[]];

/**
 * One Braze destination's `settings`; every problem is reported with its path. Strict, so a misspelt key is an
 * error instead of a setting silently ignored. Each `.describe()` is the README's settings table.
 */
export const BrazeSettings = z
  .strictObject({
    restEndpoint: BaseUrl.optional().describe(
      "The workspace's REST endpoint, as Braze's dashboard shows it (e.g. `https://rest.iad-01.braze.com`), or a proxy or the fake Braze; every request goes under it: `/users/track`, erasures (`/users/delete`) and the connection check (`/events/list`). No credentials, query or fragment. A wrong instance answers 401, which pauses the destination.",
    ),
    instance: z
      .enum(INSTANCE_NAMES, {
        error: (issue) => `unknown Braze instance ${JSON.stringify(issue.input)}; valid instances: ${INSTANCE_NAMES.join(', ')}`,
      })
      .optional()
      .describe('Shorthand for `restEndpoint`: `US-01` … `US-08`, `US-10`, `EU-01`, `EU-02`, `AU-01`. Give one of the two, not both.'),
    apiKey: secret(z.string())
      .optional()
      .describe(
        'REST API key with the `users.track` permission (and `users.delete` for erasure, `events.list` for the connection check), of the workspace that receives `PRODUCTION` events.',
      ),
    sandboxApiKey: secret(z.string())
      .optional()
      .describe(
        'REST API key of the workspace that receives `SANDBOX` events. Without it sandbox events are not sent (skipped with `sandbox_without_credentials`).',
      ),
    eventNames: EventNameOverrides,
    salesReporting: SalesReporting.default('gross').describe('Which revenue is sent, always in USD.'),
    purchases: z
      .boolean()
      .default(true)
      .describe(
        "Send each event with positive revenue as a purchase object (Braze's revenue and LTV count purchases), its name in `properties.rc_event_name`; `false` sends every event as a custom event. Refunds are always events, with negative revenue.",
      ),
  })
  .superRefine((settings, ctx) => checkEventNameOverrides(capabilities, settings.eventNames, ctx), whenFieldsValid('eventNames'))
  .superRefine(
    (settings, ctx) => {
      if (settings.restEndpoint !== undefined && settings.instance !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['instance'], message: 'give restEndpoint or instance, not both' });
      }
    },
    whenFieldsValid('restEndpoint', 'instance'),
  );
export type BrazeSettings = z.output<typeof BrazeSettings>;

/** The base of every request: `restEndpoint`, else the instance's; undefined when neither is set. */
export function restBase(settings: BrazeSettings): string | undefined {
  return settings.restEndpoint ?? (settings.instance === undefined ? undefined : BRAZE_INSTANCES[settings.instance]);
}

export function trackUrl(settings: BrazeSettings): string {
  const base = restBase(settings);
  // missingConfig() keeps deliveries away from here without one; reaching this is a caller bug, not bad input.
  if (base === undefined) throw new Error('braze: neither restEndpoint nor instance is set');
  return urlUnder(base, '/users/track');
}

export function hasSandboxCredentials(settings: BrazeSettings): boolean {
  return isSet(settings.sandboxApiKey);
}

/** What keeps the destination from sending at all; its deliveries wait as paused until it is fixed. */
export function missingConfig(settings: BrazeSettings): string[] {
  return [
    ...(isSet(settings.apiKey) ? [] : ['settings.apiKey is not set']),
    ...(restBase(settings) === undefined ? ['settings.restEndpoint (or settings.instance) is not set'] : []),
  ];
}

/** The documented example: placeholders for both keys, the first US instance, defaults for the rest. */
export const exampleSettings: BrazeSettings = {
  instance: 'US-01',
  apiKey: 'YOUR-BRAZE-REST-API-KEY',
  sandboxApiKey: 'YOUR-SANDBOX-BRAZE-REST-API-KEY',
  salesReporting: 'gross',
  purchases: true,
};
