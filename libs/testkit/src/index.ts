export * from './fixtures';
export * from './fake-clevertap';
export * from './contract';
