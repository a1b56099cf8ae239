export { amplitudePlugin } from './plugin';
export { amplitudeModule } from './module';
export { AMPLITUDE_REGIONS, AmplitudeSettings, type AmplitudeRegion } from './settings';
export type { AmplitudeEvent } from './event';
