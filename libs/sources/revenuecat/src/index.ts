export * from './schema';
export * from './source';
