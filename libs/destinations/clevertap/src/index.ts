export { clevertapPlugin } from './plugin';
export { CLEVERTAP_REGIONS, CleverTapSettings, type CleverTapRegion } from './settings';
