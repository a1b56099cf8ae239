import type { HttpRequest, HttpResult, Transport } from '@ferry/core';
import { Pool } from 'undici';
import { describeError, errorCode } from './errors';

export interface UndiciTransportOptions {
  /**
   * Connections per origin; unlimited by default. The dispatcher already caps concurrency per
   * destination, and a shared limit here would let one destination's hanging requests hold up another
   * destination on the same host.
   */
  readonly connections?: number;
  /** Longest response body accepted; a bigger one fails as a network error instead of filling memory. */
  readonly maxResponseBytes?: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Sends requests with undici: one Pool per origin, created on first use. Never throws: failures come
 * back as `timeout` or `network` results whose messages never quote the request (its headers carry
 * credentials).
 */
export class UndiciTransport implements Transport {
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  constructor(private readonly options: UndiciTransportOptions = {}) {}

  async send(request: HttpRequest, timeoutMs: number): Promise<HttpResult> {
    if (this.closed) return { kind: 'network', message: 'the transport is closed' };
    const url = parseHttpUrl(request.url);
    if (!url) return { kind: 'network', message: 'the request URL is not a valid http(s) URL' };

    // headersTimeout and bodyTimeout bound each wait; this timer bounds the whole exchange (a body trickling in forever).
    const overall = new AbortController();
    const timer = setTimeout(() => overall.abort(), timeoutMs);
    try {
      const response = await this.poolFor(url.origin).request({
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers: { ...request.headers },
        body: request.body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: overall.signal,
      });
      const body = await response.body.text();
      return { kind: 'response', status: response.statusCode, headers: joinHeaders(response.headers), body };
    } catch (error) {
      if (overall.signal.aborted || TIMEOUT_CODES.has(errorCode(error) ?? '')) {
        return { kind: 'timeout', message: `no complete response within ${timeoutMs} ms` };
      }
      return { kind: 'network', message: describeError(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  private poolFor(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connections ?? null,
        maxResponseSize: this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}

function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Lower-case names (undici already lower-cases them), repeated headers joined as HTTP allows. */
function joinHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) joined[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return joined;
}
