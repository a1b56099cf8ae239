import { BaseUrl, checkEventNameOverrides, EventNameOverrides, isSet, regionSetting, SalesReporting, whenFieldsValid } from '@ferry/core';
import { z } from 'zod';
import { capabilities } from './capabilities';

/** Amplitude's data centres: `us` (the default) and `eu`; a project's API key is valid only in its own. */
export const AMPLITUDE_REGIONS = ['us', 'eu'] as const;
export type AmplitudeRegion = (typeof AMPLITUDE_REGIONS)[number];

export const AmplitudeSettings = z
  .strictObject({
    region: regionSetting(AMPLITUDE_REGIONS).default('us').describe('Amplitude data centre; decides the API host unless endpoint is set'),
    endpoint: BaseUrl.optional().describe('Base-URL override (a proxy, a test server); `/2/httpapi` is appended'),
    apiKey: z.string().optional().describe('API key of the Amplitude project that receives PRODUCTION events (secret)'),
    sandboxApiKey: z
      .string()
      .optional()
      .describe('API key of the project that receives SANDBOX events (secret); without it they are not sent'),
    eventNames: EventNameOverrides,
    salesReporting: SalesReporting.default('gross').describe('Which revenue is reported, in USD'),
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

/** The documented example: placeholders for both keys, defaults for the rest. */
export const exampleSettings: AmplitudeSettings = {
  region: 'us',
  apiKey: 'YOUR-AMPLITUDE-API-KEY',
  sandboxApiKey: 'YOUR-SANDBOX-AMPLITUDE-API-KEY',
  salesReporting: 'gross',
};
