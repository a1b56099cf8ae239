import { isIPv4, isIPv6, type Server } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Logger } from '@ferry/core';

/**
 * What one client may cost the runner: its share of the connections, its failed authentications, and the
 * log lines its refusals write. A client is its address; an IPv6 client is its /64 network, which one
 * host can fill with addresses of its own.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const bare = address.replace(/%.*$/, ''); // an IPv6 zone id names the interface, not the client
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  if (mapped !== undefined || isIPv4(bare)) return mapped ?? bare;
  if (!isIPv6(bare)) return bare;
  const [head, tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Closes a new connection at once when its client already holds `max` open ones, so one peer holding idle
 * connections cannot take all of `server.maxConnections` from the others. Only open connections are
 * tracked, so memory is bounded by that cap.
 */
export function capConnectionsPerClient(server: Server, max: number, refused: (client: string) => void): void {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const client = clientKey(socket.remoteAddress);
    const count = open.get(client) ?? 0;
    if (count >= max) {
      refused(client);
      socket.destroy();
      return;
    }
    open.set(client, count + 1);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
  });
}

export interface ThrottleOptions {
  /** Failures a client may have in a row before it waits. */
  readonly burst: number;
  /** One more failure is allowed per this long. */
  readonly refillMs: number;
  /** Most clients remembered; the least recently seen is forgotten first. */
  readonly maxClients: number;
}

/** 10 tries, then one more every 6 s: an operator who mistypes never notices; a guesser gets 10 a minute. */
export const ADMIN_THROTTLE: ThrottleOptions = { burst: 10, refillMs: 6_000, maxClients: 10_000 };

/**
 * A token bucket of failures per client: each failure takes a token, and a client without one waits
 * until one has refilled, whatever it presents then. Bounded memory: the least recently seen client is
 * forgotten beyond `maxClients`.
 */
export class FailureThrottle {
  /** Per client: tokens left, as of `atMs`. Map order is the order clients were last seen. */
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly options: ThrottleOptions,
    private readonly now: () => number,
  ) {}

  get clients(): number {
    return this.buckets.size;
  }

  /** How long `client` must wait before its next try counts; 0: it may try now. */
  waitMs(client: string): number {
    const bucket = this.refilled(client);
    return bucket.tokens >= 1 ? 0 : Math.ceil((1 - bucket.tokens) * this.options.refillMs);
  }

  failed(client: string): void {
    const bucket = this.refilled(client);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  private refilled(client: string) {
    const nowMs = this.now();
    const known = this.buckets.get(client);
    const tokens = known ? Math.min(this.options.burst, known.tokens + (nowMs - known.atMs) / this.options.refillMs) : this.options.burst;
    const bucket = { tokens, atMs: nowMs };
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    if (this.buckets.size > this.options.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
    return bucket;
  }
}

/** What the refusals line counts. */
export type RefusalKind = 'webhookUnauthorized' | 'adminUnauthorized' | 'adminThrottled' | 'connectionsRefused';

/** Counts a refused request on the bounded refusals line instead of logging it alone. */
export type Refuse = (request: FastifyRequest, kind: RefusalKind) => void;

/** Distinct clients counted per line; beyond it the line says "at least". */
const MAX_COUNTED_CLIENTS = 1_000;

/**
 * Refusals a client can cause thousands of times a second (wrong credentials, throttled tries, connections
 * over its share), logged at a bounded rate: the first at once, then at most one line per interval with
 * the counts since the last line. Never a credential or a path: only counts.
 */
export class RefusalLog {
  private counts = new Map<RefusalKind, number>();
  private clients = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  note(kind: RefusalKind, client: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (this.clients.size < MAX_COUNTED_CLIENTS) this.clients.add(client);
    if (this.timer) return;
    this.write();
    this.timer = setInterval(() => {
      if (this.counts.size > 0) this.write();
      else this.stop();
    }, this.intervalMs).unref();
  }

  /** Writes what is still counted (at shutdown). */
  flush(): void {
    this.stop();
    if (this.counts.size > 0) this.write();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private write(): void {
    const clients = this.clients.size >= MAX_COUNTED_CLIENTS ? `${MAX_COUNTED_CLIENTS}+` : this.clients.size;
    this.log.warn({ ...Object.fromEntries(this.counts), clients }, 'clients refused (counts since the last such line)');
    this.counts = new Map();
    this.clients = new Set();
  }
}
