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

/** Amplitude's data centres: `us` (the default) and `eu`; a project's API key is valid only in its own. */
export const AMPLITUDE_REGIONS = ['us', 'eu'] as const;
export type AmplitudeRegion = (typeof AMPLITUDE_REGIONS)[number];

export const AmplitudeSettings = z
  .strictObject({
    region: regionSetting(AMPLITUDE_REGIONS)
      .default('us')
      .describe(
        "Amplitude data centre: `us` → `api2.amplitude.com`, `eu` → `api.eu.amplitude.com`. A project's key works only in its own data centre. Anything else is a config error listing these.",
      ),
    endpoint: BaseUrl.optional().describe(
      'Base-URL override (a proxy, the fake Amplitude in tests) for every request: events (`/2/httpapi`), erasures and the connection check (`/api/2/deletions/users`). No credentials, query or fragment.',
    ),
    apiKey: secret(z.string()).optional().describe('API key of the project that receives `PRODUCTION` events.'),
    sandboxApiKey: secret(z.string())
      .optional()
      .describe(
        'API key of the project that receives `SANDBOX` events. Without it sandbox events are not sent (skipped with `sandbox_without_credentials`).',
      ),
    secretKey: secret(z.string())
      .optional()
      .describe(
        "Secret key of the production project. Only erasure (Amplitude's user privacy API) and the connection check need it; events go without.",
      ),
    eventNames: EventNameOverrides,
    salesReporting: SalesReporting.default('gross').describe('Which revenue is sent, always in USD.'),
  })
  .superRefine((settings, ctx) => checkEventNameOverrides(capabilities, settings.eventNames, ctx), whenFieldsValid('eventNames'));
export type AmplitudeSettings = z.output<typeof AmplitudeSettings>;

export function hasSandboxCredentials(settings: AmplitudeSettings): boolean {
  return isSet(settings.sandboxApiKey);
}

/** What keeps the destination from sending at all; its deliveries wait as paused until it is fixed. */
export function missingConfig(settings: AmplitudeSettings): string[] {
  return isSet(settings.apiKey) ? [] : ['settings.apiKey is not set'];
}

/** What keeps erasures and the connection check from running: both use Basic auth with the API key and the secret key. */
export function missingAccountConfig(settings: AmplitudeSettings): string[] {
  const missing = (['apiKey', 'secretKey'] as const).filter((key) => !isSet(settings[key])).map((key) => `settings.${key}`);
  if (missing.length === 0) return [];
  return [`${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set`];
}

/** The documented example: placeholders for both keys, defaults for the rest. */
export const exampleSettings: AmplitudeSettings = {
  region: 'us',
  apiKey: 'YOUR-AMPLITUDE-API-KEY',
  secretKey: 'YOUR-AMPLITUDE-SECRET-KEY',
  sandboxApiKey: 'YOUR-SANDBOX-AMPLITUDE-API-KEY',
  salesReporting: 'gross',
};
