import * as net from 'node:net';
import { ContractViolation } from './support';

/** Refuses every outgoing connection while installed and remembers who tried. */
export interface NetworkGuard {
  /** What tried to reach the network, oldest first (`fetch http://…`, `connect 10.0.0.1:443`). */
  readonly attempts: readonly string[];
  restore(): void;
}

/**
 * Plugins never touch the network: the engine sends their requests. Every TCP and TLS connection
 * (node:http, undici, fetch's own pool) goes through `net.Socket.prototype.connect`, and `fetch`
 * is replaced too so its attempts are named plainly.
 */
export function guardNetwork(): NetworkGuard {
  const attempts: string[] = [];
  const refuse = (what: string): Error => {
    attempts.push(what);
    return new Error(`no network access in the contract suite: ${what}`);
  };

  const originalFetch = globalThis.fetch;
  const originalConnect = net.Socket.prototype.connect;
  globalThis.fetch = (input: string | URL | Request) =>
    Promise.reject(refuse(`fetch ${input instanceof Request ? input.url : String(input)}`));
  net.Socket.prototype.connect = function refusedConnect(...args: unknown[]): never {
    throw refuse(`connect ${describeTarget(args[0], args[1])}`);
  } as typeof net.Socket.prototype.connect;

  return {
    attempts,
    restore() {
      globalThis.fetch = originalFetch;
      net.Socket.prototype.connect = originalConnect;
    },
  };
}

function describeTarget(first: unknown, second: unknown): string {
  if (Array.isArray(first)) return describeTarget(first[0], undefined); // node's internal normalised form
  if (first !== null && typeof first === 'object') {
    const { host, port, path } = first as { host?: string; port?: number; path?: string };
    return path ?? `${host ?? 'localhost'}:${port}`;
  }
  return typeof second === 'string' ? `${second}:${String(first)}` : String(first);
}

/** In the enclosing `describe`: the network is off, and a test whose plugin reached for it fails, naming where. */
export function offlineInEachTest(): void {
  let guard: NetworkGuard;
  let attemptsBefore = 0;
  beforeAll(() => {
    guard = guardNetwork();
  });
  afterAll(() => guard.restore());
  beforeEach(() => {
    attemptsBefore = guard.attempts.length;
  });
  afterEach(() => {
    const attempts = guard.attempts.slice(attemptsBefore);
    if (attempts.length > 0) throw new ContractViolation(`the plugin reached for the network: ${attempts.join('; ')}`);
  });
}
