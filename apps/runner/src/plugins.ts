import type { AnyDestinationPlugin, SourcePlugin } from '@ferry/core';
import { revenueCatSource } from '@ferry/revenuecat';
import { clevertapPlugin } from '@ferry/clevertap';
import { amplitudePlugin } from '@ferry/amplitude';
import { brazePlugin } from '@ferry/braze';
import { webhookPlugin } from '@ferry/webhook';

// The one place that knows which plugins exist: the container binds each to its multi-injection token
// (container.ts). `nx g @ferry/tools:destination` and `nx g @ferry/tools:source` add new plugins here.
export const sourcePlugins: readonly SourcePlugin[] = [revenueCatSource];
export const destinationPlugins: readonly AnyDestinationPlugin[] = [clevertapPlugin, amplitudePlugin, brazePlugin, webhookPlugin];
