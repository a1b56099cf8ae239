import {
  BaseUrl,
  checkEventNameOverrides,
  EventNameOverrides,
  isSet,
  regionSetting,
  SalesReporting,
  secret,
  whenFieldsValid,
} from '@ferry/core';
import { z } from 'zod';
import { capabilities } from './capabilities';

/** CleverTap's data centres; eu1 (Europe) is the default and the only one without a prefix on its host. */
export const CLEVERTAP_REGIONS = ['eu1', 'in1', 'sg1', 'us1', 'aps3', 'mec1'] as const;
export type CleverTapRegion = (typeof CLEVERTAP_REGIONS)[number];

export const CleverTapSettings = z
  .strictObject({
    region: regionSetting(CLEVERTAP_REGIONS)
      .default('eu1')
      .describe(
        'CleverTap data centre: `eu1` → `api.clevertap.com`, the others → `<region>.api.clevertap.com`. Anything else is a config error listing these.',
      ),
    endpoint: BaseUrl.optional().describe(
      'Base-URL override (a proxy, the fake CleverTap in tests) for every request: uploads (`/1/upload`), erasures (`/1/delete/profiles.json`) and the connection check (`/1/profile.json`). No credentials, query or fragment.',
    ),
    accountId: z.string().optional().describe('Account (project) id of the production account.'),
    passcode: secret(z.string()).optional().describe('Passcode of the production account.'),
    sandboxAccountId: z.string().optional().describe('Account that receives `SANDBOX` events. Needs `sandboxPasscode`.'),
    sandboxPasscode: secret(z.string()).optional().describe('Passcode of the sandbox account. Needs `sandboxAccountId`.'),
    eventNames: EventNameOverrides,
    salesReporting: SalesReporting.default('gross').describe('Which revenue is sent as `amount`.'),
    profileSync: z
      .boolean()
      .default(false)
      .describe(
        'Follow each event that changes the subscription status with a profile record for the same user, in the same request: `rc_subscription_status`, `rc_product_id`, `rc_store`, `rc_entitlements`, `rc_expires_at`. An event older than the status already sent goes without it.',
      ),
    chargedEvent: z
      .boolean()
      .default(false)
      .describe(
        "Also send each event with positive revenue as CleverTap's `Charged` event (`Amount`, `Currency`, `Charged ID`, `Items`), which CleverTap's revenue analytics count.",
      ),
  })
  .superRefine((settings, ctx) => checkEventNameOverrides(capabilities, settings.eventNames, ctx), whenFieldsValid('eventNames'))
  .superRefine(
    (settings, ctx) => {
      const { sandboxAccountId, sandboxPasscode } = settings;
      if (isSet(sandboxAccountId) && !isSet(sandboxPasscode)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sandboxPasscode'],
          message: 'must be set when sandboxAccountId is set (sandbox events need both)',
        });
      }
      if (isSet(sandboxPasscode) && !isSet(sandboxAccountId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sandboxAccountId'],
          message: 'must be set when sandboxPasscode is set (sandbox events need both)',
        });
      }
    },
    whenFieldsValid('sandboxAccountId', 'sandboxPasscode'),
  );
export type CleverTapSettings = z.output<typeof CleverTapSettings>;

export function hasSandboxCredentials(settings: CleverTapSettings): boolean {
  return isSet(settings.sandboxAccountId) && isSet(settings.sandboxPasscode);
}

/** What keeps the destination from sending at all; its deliveries wait as paused until it is fixed. */
export function missingConfig(settings: CleverTapSettings): string[] {
  const missing = (['accountId', 'passcode'] as const).filter((key) => !isSet(settings[key])).map((key) => `settings.${key}`);
  if (missing.length === 0) return [];
  return [`${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set`];
}

/** The documented example: placeholders for every credential, defaults for the rest. */
export const exampleSettings: CleverTapSettings = {
  region: 'eu1',
  accountId: 'YOUR-ACCOUNT-ID',
  passcode: 'YOUR-PASSCODE',
  sandboxAccountId: 'YOUR-SANDBOX-ACCOUNT-ID',
  sandboxPasscode: 'YOUR-SANDBOX-PASSCODE',
  salesReporting: 'gross',
  profileSync: false,
  chargedEvent: false,
};
