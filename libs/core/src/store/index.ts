export * from './records';
export * from './delivery-queue';
export * from './queue-backend';
export * from './event-log';
export * from './maintenance';
export * from './maintenance-backend';
export * from './coordination';
export * from './store';
