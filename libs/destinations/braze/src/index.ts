export { brazePlugin } from './plugin';
export { BRAZE_INSTANCES, BrazeSettings, type BrazeInstance } from './settings';
export { brazeRetryAfterMs } from './responses';
