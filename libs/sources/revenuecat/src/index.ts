export * from './schema';
export * from './source';
export * from './settings';
