export { clevertapPlugin } from './plugin';
export { clevertapModule } from './module';
export { CLEVERTAP_REGIONS, CleverTapSettings, type CleverTapRegion } from './settings';
