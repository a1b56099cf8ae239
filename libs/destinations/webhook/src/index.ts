export { webhookPlugin } from './plugin';
export { WebhookSettings } from './settings';
export { FerryEvent, FerryEventData } from './ferry-event';
export { STOP_STATUSES } from './responses';
