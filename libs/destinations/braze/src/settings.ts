import { BaseUrl, checkEventNameOverrides, EventNameOverrides, isSet, SalesReporting, secret, whenFieldsValid } from '@ferry/core';
import { z } from 'zod';
import { capabilities } from './capabilities';

/**
 * One Braze destination's `settings` in the config file; every problem is reported with its path.
 * Strict, so a misspelt key is an error instead of a setting silently ignored. Each `.describe()` is the
 * README's settings table (`npm run docs:settings`) and the config's JSON Schema; `secret()` marks a credential.
 */
export const BrazeSettings = z
  .strictObject({
    // Optional so that an unconfigured destination still validates: its events wait as paused (missingConfig).
    apiKey: secret(z.string()).optional().describe('Braze API key. Without it events wait as paused deliveries.'),
    endpoint: BaseUrl.optional().describe('Base-URL override (a proxy, a test server). No credentials, query or fragment.'),
    eventNames: EventNameOverrides,
    salesReporting: SalesReporting.default('gross').describe('Which revenue is sent.'),
  })
  .superRefine((settings, ctx) => checkEventNameOverrides(capabilities, settings.eventNames, ctx), whenFieldsValid('eventNames'));
export type BrazeSettings = z.output<typeof BrazeSettings>;

/** What keeps the destination from sending at all; its deliveries wait as paused until it is fixed. */
export function missingConfig(settings: BrazeSettings): string[] {
  return isSet(settings.apiKey) ? [] : ['settings.apiKey is not set'];
}

/** The documented example: valid, with a placeholder key. */
export const exampleSettings: BrazeSettings = {
  apiKey: 'YOUR_BRAZE_API_KEY',
  salesReporting: 'gross',
};
