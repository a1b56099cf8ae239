import type { DeliveryRequest, HttpResult } from './plugin';

/** Engine services bound in the container, so tests swap a real piece for a fake in one line. */

export interface Clock {
  now(): number;
}

export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(fields: object): Logger;
}

/** Sends one request; never throws: failures come back as `timeout` or `network` results. */
export interface Transport {
  send(request: DeliveryRequest, timeoutMs: number): Promise<HttpResult>;
  close(): Promise<void>;
}

export const TOKENS = {
  /** Multi-injected: every `DestinationPlugin` the runner offers. */
  DestinationPlugin: Symbol.for('ferry.DestinationPlugin'),
  Store: Symbol.for('ferry.Store'),
  Clock: Symbol.for('ferry.Clock'),
  Logger: Symbol.for('ferry.Logger'),
  Transport: Symbol.for('ferry.Transport'),
  Random: Symbol.for('ferry.Random'),
  Config: Symbol.for('ferry.Config'),
} as const;

export const systemClock: Clock = { now: () => Date.now() };
