export * from './fixtures';
export * from './fake-clevertap';
export * from './fake-amplitude';
export * from './contract';
export * from './source-contract';
export * from './memory-store';
