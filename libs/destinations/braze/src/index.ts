export { brazePlugin } from './plugin';
export { BrazeSettings } from './settings';
