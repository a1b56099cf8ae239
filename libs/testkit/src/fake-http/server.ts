import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { redactText } from '@ferry/core';
import { parseJson, readBody } from './http';
import { FakeInputError } from './input';

/** A request to a fake outside its control API, read whole. */
export interface FakeExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly body: Buffer;
  /** Waits `ms`; rejects when the fake closes, which ends the request. */
  wait(ms: number): Promise<void>;
}

/** The control API under `/_fake/`: what a person following a README reads and scripts with curl. */
export interface ControlApi {
  /** `GET` routes by path (`/_fake/records`): what they show, given the query. */
  readonly views: Readonly<Record<string, (query: URLSearchParams) => unknown>>;
  /** `POST /_fake/faults`: validates and queues one fault or a list; throws a FakeInputError for a bad one. Answers how many. */
  queueFaults(input: unknown): number;
  /** `POST /_fake/reset`. */
  reset(): void;
  /** Values no control answer may show (passcodes, API keys). */
  readonly secrets: readonly string[];
}

export interface FakeHttpOptions {
  readonly port?: number;
  readonly host?: string;
  /** Content type of the fake's own answers. */
  readonly contentType: string;
  /** The body answering a request the fake's own code failed on, in the real service's error envelope. */
  crashBody(message: string): string;
  /** Serves one request outside `/_fake/`. */
  serve(exchange: FakeExchange): Promise<void>;
  readonly control: ControlApi;
}

export interface FakeHttpServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Stops listening and ends every open connection, hung ones included. */
  close(): Promise<void>;
}

/** Starts a fake service on loopback (by default): its own routes through `serve`, the control API under `/_fake/`. */
export async function startFakeHttp(options: FakeHttpOptions): Promise<FakeHttpServer> {
  const closing = new AbortController();
  setMaxListeners(Infinity, closing.signal); // every waiting request listens for close()
  const wait = (ms: number) => delay(ms, undefined, { signal: closing.signal });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    if (url.pathname.startsWith('/_fake/')) return control(options, req.method ?? '', url, body.toString('utf8'), res);
    return options.serve({ req, res, url, body, wait });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the fake must show up as a failing request, never as a crashed test process.
      if (closing.signal.aborted || res.headersSent) return req.socket.destroy();
      res.writeHead(500, { 'content-type': options.contentType });
      res.end(options.crashBody(error instanceof Error ? error.message : String(error)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function control({ control: api, contentType }: FakeHttpOptions, method: string, url: URL, text: string, res: ServerResponse): void {
  const reply = (status: number, value?: unknown) => {
    res.writeHead(status, value === undefined ? {} : { 'content-type': contentType });
    res.end(value === undefined ? undefined : redactText(JSON.stringify(value), api.secrets));
  };
  const routes: Record<string, Record<string, () => void>> = {
    ...Object.fromEntries(Object.entries(api.views).map(([path, view]) => [path, { GET: () => reply(200, view(url.searchParams)) }])),
    '/_fake/faults': {
      POST: () => {
        const json = parseJson(text);
        if (!json.ok) return reply(400, { error: 'Invalid fault: the body is not JSON' });
        try {
          reply(200, { queued: api.queueFaults(json.value) });
        } catch (error) {
          if (!(error instanceof FakeInputError)) throw error;
          reply(400, { error: 'Invalid fault', issues: error.issues });
        }
      },
    },
    '/_fake/reset': {
      POST: () => {
        api.reset();
        reply(204);
      },
    },
  };
  const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
  if (!route) return reply(404, { error: `No control route ${url.pathname}` });
  const run = Object.hasOwn(route, method) ? route[method] : undefined;
  if (!run) {
    res.setHeader('allow', Object.keys(route).join(', '));
    return reply(405, { error: `${url.pathname} takes ${Object.keys(route).join(', ')}` });
  }
  run();
}

/** The answer to one logged request of a fake's own routes. */
export interface Answerer {
  /** Records `status` on the entry and writes it; a given header (any case) replaces the default content type. */
  answer(status: number, body: string, headers?: Record<string, string>): void;
  /** Resets the connection without an answer. */
  drop(): void;
}

/** Answers for `entry`'s request; `onSettled` runs once, when it is answered, dropped or abandoned. */
export function answerer(exchange: FakeExchange, entry: { status: number | null }, contentType: string, onSettled: () => void): Answerer {
  const { req, res } = exchange;
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    onSettled();
  };
  res.once('close', settle);
  return {
    answer(status, body, headers = {}) {
      entry.status = status;
      // Lower-cased so that a scripted `Content-Type` replaces the default instead of doubling it.
      const merged = Object.entries({ 'content-type': contentType, ...headers }).map(([name, value]) => [name.toLowerCase(), value]);
      res.writeHead(status, Object.fromEntries(merged));
      res.end(status === 204 || status === 304 ? undefined : body);
      settle();
    },
    drop: () => req.socket.resetAndDestroy(),
  };
}
