import type { HttpRequest, HttpResult } from './http';
import type { AnyDestinationPlugin } from './plugin';
import type { SourcePlugin } from './source';
import type { ActivityLog, Coordination, DeliveryQueue, ErasureJobs, EventLog, Maintenance, Store } from './store/index';

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
  send(request: HttpRequest, timeoutMs: number): Promise<HttpResult>;
  close(): Promise<void>;
}

/** For the compiler only: the type of a token's service. Never set at run time. */
declare const serviceType: unique symbol;

/**
 * Names one service in a container and carries its type, so that binding a Logger to the Clock's token, or
 * reading the Store's as a Transport, does not compile. `key` is what the container indexes by.
 */
export interface Token<T> {
  readonly key: symbol;
  readonly multiple: false;
  /** Invariant in T: a Token<Logger> is no Token<Clock>, either way. */
  readonly [serviceType]?: (service: T) => T;
}

/** A token every value bound to it is collected under (multi-injection): the plugins of one kind. */
export interface MultiToken<T> {
  readonly key: symbol;
  readonly multiple: true;
  readonly [serviceType]?: (service: T) => T;
}

/** `token<Clock>('ferry.Clock')`; the same name gives the same key, even from another copy of this package. */
export function token<T>(name: string): Token<T> {
  return { key: Symbol.for(name), multiple: false };
}

export function multiToken<T>(name: string): MultiToken<T> {
  return { key: Symbol.for(name), multiple: true };
}

/** The engine's services and the plugins; the runner's own tokens live beside its container. */
export const TOKENS = {
  /** Multi-injected: every `DestinationPlugin` the runner offers. */
  DestinationPlugin: multiToken<AnyDestinationPlugin>('ferry.DestinationPlugin'),
  /** Multi-injected: every `SourcePlugin` the runner offers. */
  SourcePlugin: multiToken<SourcePlugin>('ferry.SourcePlugin'),
  /** The store as opened: its lifecycle (readiness, close) and every port. */
  Store: token<Store>('ferry.Store'),
  /** The store's ports, each what one kind of consumer uses (see `Store`). */
  DeliveryQueue: token<DeliveryQueue>('ferry.DeliveryQueue'),
  EventLog: token<EventLog>('ferry.EventLog'),
  Maintenance: token<Maintenance>('ferry.Maintenance'),
  Coordination: token<Coordination>('ferry.Coordination'),
  ErasureJobs: token<ErasureJobs>('ferry.ErasureJobs'),
  ActivityLog: token<ActivityLog>('ferry.ActivityLog'),
  Clock: token<Clock>('ferry.Clock'),
  Transport: token<Transport>('ferry.Transport'),
  Random: token<() => number>('ferry.Random'),
} as const;

export const systemClock: Clock = { now: () => Date.now() };

/** A logger that writes nowhere: for a service given none. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
