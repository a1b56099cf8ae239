export * from './fixtures';
export * from './fake-clevertap';
export * from './fake-amplitude';
export * from './fake-braze';
export * from './contract';
export * from './source-contract';
export * from './memory-store';
export { exchangeOverHttp } from './fake-http/exchange';
export * from './webhook-receiver';
