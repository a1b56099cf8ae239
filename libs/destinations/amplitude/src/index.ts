export { amplitudePlugin } from './plugin';
export { AMPLITUDE_REGIONS, AmplitudeSettings, type AmplitudeRegion } from './settings';
export type { AmplitudeEvent } from './event';
