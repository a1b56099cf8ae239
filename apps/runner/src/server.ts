import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  MAX_ID_LENGTH,
  type AnyDestinationPlugin,
  StoreInputError,
  StoreUnavailableError,
  ingestEventOf,
  type Authentication,
  type Clock,
  type DeliveryQueue,
  type EventLog,
  type RequestHeaders,
  type SourceInstance,
  type Store,
  type StoreStats,
} from '@ferry/core';
import { planDeliveries, type DestinationInstance, type Dispatcher } from '@ferry/engine';
import type { AdminService } from './admin';
import { adminRoutes } from './admin/http';
import { RefusalLog, capConnectionsPerClient, clientKey, type Refuse } from './client-limits';
import type { RunnerConfig } from './config';
import { loopbackHostCheck } from './host-check';
import type { PinoLogger } from './logging';
import { webhookOutcomeFor, type RunnerMetrics } from './metrics';
import { pluginJsonSchemas } from './plugin-schemas';
import { parseReceived } from './sources';
import { CONSOLE_DIR } from './shipped-files';

/** Shared with the runner: false once shutdown begins, so webhooks and readiness answer 503. */
export interface Lifecycle {
  accepting: boolean;
}

export interface ServerDeps {
  readonly config: RunnerConfig;
  readonly logger: PinoLogger;
  /** Where webhooks are stored. */
  readonly queue: Pick<DeliveryQueue, 'ingest'>;
  /** What the metrics count, and (for a duplicate only) which source an event id was first stored through. */
  readonly log: Pick<EventLog, 'stats' | 'getEvent'>;
  /** The store's readiness. */
  readonly store: Pick<Store, 'ping'>;
  readonly dispatcher: Pick<Dispatcher, 'notify' | 'pausedDestinationIds'>;
  readonly admin: AdminService;
  readonly metrics: RunnerMetrics;
  readonly clock: Clock;
  /** Scrubs every configured secret from outgoing text. */
  readonly redact: (text: string) => string;
  readonly lifecycle: Lifecycle;
  /** Every registered destination plugin (configured or not): the body schemas they declare are served. */
  readonly plugins: readonly AnyDestinationPlugin[];
}

const RETRY_AFTER_SECONDS = '5';
/** All headers of a request arrive within this long (or the request timeout, when shorter). */
const MAX_HEADERS_TIMEOUT_MS = 10_000;

/** The runner's HTTP face: ingest, operations endpoints and the admin API. Every answer is JSON (metrics aside). */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const { requestTimeoutMs, keepAliveTimeoutMs, maxConnections, maxConnectionsPerClient } = deps.config.server;
  const headersTimeoutMs = Math.min(requestTimeoutMs, MAX_HEADERS_TIMEOUT_MS);
  const app = fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Slow or idle clients are cut off, whatever path they ask for: none holds a connection for long.
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    // Node checks the two timeouts every 30 s by default, which would let a slow client outstay a short one.
    http: { headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs) },
    // An event id of MAX_ID_LENGTH characters (code points), each percent-encoded as up to twelve (`%F0%9F%98%80`), fits in a path parameter.
    routerOptions: { maxParamLength: MAX_ID_LENGTH * 12 },
  });
  // Beyond the caps, new connections are closed at once.
  app.server.maxConnections = maxConnections;
  const refusals = new RefusalLog(deps.logger);
  capConnectionsPerClient(app.server, maxConnectionsPerClient, (client) => refusals.note('connectionsRefused', client));
  app.addHook('onClose', async () => refusals.flush());
  /** Requests whose refusal the refusals line counts, instead of a line each. */
  const counted = new WeakSet<FastifyRequest>();
  const refuse: Refuse = (request, kind) => {
    counted.add(request);
    refusals.note(kind, clientKey(request.ip));
  };

  const hostAllowed = loopbackHostCheck(deps.config.server);
  if (hostAllowed) {
    // First of all hooks: a page that rebinds its own name to this machine reaches nothing, not even /metrics.
    app.addHook('onRequest', async (request, reply) => {
      if (hostAllowed(request.headers.host, request.socket.localPort)) return;
      return reply.code(421).send({
        error:
          `Host ${JSON.stringify(request.headers.host)} is not answered: this runner listens on loopback, so it answers ` +
          'localhost, 127.0.0.1 and [::1] on its own port, and the names in server.allowedHosts',
      });
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    if (counted.has(request)) return;
    // The path alone: a query string may name a user (`/admin/events?user=…`).
    const fields = {
      method: request.method,
      path: request.url.split('?', 1)[0],
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) request.log.warn(fields, 'request failed');
    else if (reply.statusCode >= 400) request.log.info(fields, 'request refused');
    else request.log.debug(fields, 'request');
  });
  // The last line of defence: no response carries a configured secret, whatever put it there.
  app.addHook('onSend', async (_request, _reply, payload) => (typeof payload === 'string' ? deps.redact(payload) : payload));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    // The store's own trouble (a reader holding its WAL, its file gone, a full disk), said as it is: try again later.
    if (error instanceof StoreUnavailableError) {
      request.log.warn({ err: error }, 'the store could not do it now');
      return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ error: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500)
      return reply.code(status).send({ error: clientErrorMessage(error, status, request.routeOptions.bodyLimit) });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal error (see the runner log)' });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));

  app.register(async (scope) => webhookRoutes(scope, deps, refuse));
  app.register(async (scope) => adminRoutes(scope, deps.admin, { adminToken: deps.config.server.adminToken, clock: deps.clock, refuse }), {
    prefix: '/admin',
  });
  app.register(async (scope) => consoleRoutes(scope, deps));
  operationsRoutes(app, deps);
  schemaRoutes(app, deps);
  return app;
}

/**
 * `GET /schemas/<name>.json`: the JSON Schema of a body the plugins send (the webhook destination's
 * `ferry-event`), for receivers. Public, like /healthz: a schema holds no secret and no data.
 */
function schemaRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const schemas = pluginJsonSchemas(deps.plugins);
  app.get<{ Params: { file: string } }>('/schemas/:file', async (request, reply) => {
    const schema = /^(.+)\.json$/.exec(request.params.file)?.[1];
    const found = schema === undefined ? undefined : schemas.get(schema);
    if (found === undefined) {
      return reply
        .code(404)
        .send({ error: `no such schema; the schemas are ${[...schemas.keys()].map((name) => `/schemas/${name}.json`).join(', ')}` });
    }
    return reply.type('application/schema+json').send(JSON.stringify(found));
  });
}

function clientErrorMessage(error: FastifyError, status: number, bodyLimit: number): string {
  if (status === 413) return `body over the limit of ${bodyLimit} bytes`;
  if (status === 415) return 'Content-Type must be application/json';
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'invalid JSON body';
  return error.message;
}

/** A configured source as the webhook route serves it: its request check built once (a credential hashed once). */
interface ServedSource {
  readonly source: SourceInstance;
  readonly authenticate: (headers: RequestHeaders) => Authentication;
}

/**
 * `POST /webhooks/<id>`, one per configured source (SPEC §13): its own credential check before the body is
 * read, its plugin's parser, its id as the events' `source`. 200 only once the event and its deliveries are
 * committed. Event ids are unique across sources: one already stored answers `duplicate`, whichever source.
 */
function webhookRoutes(scope: FastifyInstance, deps: ServerDeps, refuse: Refuse): void {
  const { config, queue, log, dispatcher, metrics, clock, lifecycle } = deps;
  const served = new Map<string, ServedSource>(
    config.sources.map((source) => [source.id, { source, authenticate: source.plugin.authenticator(source.settings) }]),
  );
  // A plugin may compile its validator at its first parse (RevenueCat's: 60–200 ms): done now, not in a webhook's time.
  for (const plugin of new Set(config.sources.map((source) => source.plugin))) plugin.parse(plugin.exampleWebhook);
  const destinations: readonly DestinationInstance[] = config.destinations;
  /** The configured source a request is for; undefined for an unknown id (never a label made from the URL). */
  const servedFor = (request: FastifyRequest) => served.get((request.params as { source?: string }).source ?? '');

  // The body is kept verbatim as text: it is stored as received and parsed here, where errors get our wording.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  // Before the body is read: a refused caller costs nothing.
  scope.addHook('onRequest', async (request, reply) => {
    if (!lifecycle.accepting) return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ error: 'shutting down' });
    const target = servedFor(request);
    if (target === undefined) {
      return reply
        .code(404)
        .send({ error: 'no source is configured with this id: webhooks go to POST /webhooks/<id> of a configured source' });
    }
    const authentication = target.authenticate(request.headers);
    if (!authentication.ok) {
      refuse(request, 'webhookUnauthorized');
      return reply.code(401).send({ error: authentication.reason });
    }
  });
  scope.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 200) metrics.webhook(servedFor(request)?.source.id, webhookOutcomeFor(reply.statusCode));
  });

  scope.post<{ Params: { source: string } }>('/webhooks/:source', { bodyLimit: config.server.bodyLimitBytes }, async (request, reply) => {
    if (typeof request.body !== 'string') return reply.code(415).send({ error: 'Content-Type must be application/json' });
    const { source } = servedFor(request)!; // onRequest answered 404 otherwise
    const text = request.body;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return reply.code(400).send({ error: 'invalid JSON', issues: [{ path: '(body)', message: (error as Error).message }] });
    }
    const parsed = parseReceived(source, body);
    if (!parsed.ok) return reply.code(400).send({ error: 'invalid webhook', issues: parsed.issues });
    const event = parsed.value;
    const deliveries = planDeliveries(event, destinations, dispatcher.pausedDestinationIds());
    let result: 'stored' | 'duplicate';
    try {
      result = await queue.ingest(ingestEventOf(event, text), deliveries, clock.now());
    } catch (error) {
      if (error instanceof StoreInputError) {
        // The database's own words (in `cause`) may quote the webhook's values: the log has them, the answer does not.
        request.log.warn({ err: error.cause, eventId: event.id }, 'the store refused the event');
        return reply.code(400).send({ error: 'invalid webhook', issues: [{ path: 'event', message: error.message }] });
      }
      request.log.error({ err: error, eventId: event.id, source: source.id }, 'the store did not take the event; the sender will retry');
      return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ error: 'store unavailable' });
    }
    metrics.webhook(source.id, result);
    if (result === 'stored') dispatcher.notify();
    else await warnIfStoredThroughAnotherSource(log, request, event.id, source.id);
    return { status: result, id: event.id };
  });
}

/**
 * An event id is the store's key across sources: the same id through another source is answered `duplicate`
 * and delivers nothing, which an operator should hear of (two apps' ids colliding, or a misrouted webhook).
 * Read only on duplicates; a failed read is logged, never the request's failure.
 */
async function warnIfStoredThroughAnotherSource(
  log: Pick<EventLog, 'getEvent'>,
  request: FastifyRequest,
  eventId: string,
  sourceId: string,
): Promise<void> {
  try {
    const stored = await log.getEvent(eventId);
    if (stored !== undefined && stored.source !== sourceId) {
      request.log.warn(
        { eventId, source: sourceId, storedSource: stored.source },
        `event id already stored through source ${stored.source}, now received through source ${sourceId}: answered duplicate, delivered nothing`,
      );
    }
  } catch (error) {
    request.log.warn({ err: error, eventId }, 'could not read which source first stored a duplicate event');
  }
}

/** Sent with every console answer: scripts and styles only from this origin, never framed, no referrer leaks. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const CONSOLE_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const plainPage = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body><h1>${title}</h1><p>${text}</p></body></html>`;

const CONSOLE_DISABLED = plainPage(
  'Ferry console disabled',
  'The console uses the admin API, which is off. Set <code>server.adminToken</code> in the config ' +
    '(a long random string, or <code>"${FERRY_ADMIN_TOKEN}"</code> to take it from the environment), restart the runner, ' +
    'and sign in here with that token.',
);
const CONSOLE_NOT_BUILT = plainPage('Ferry console not built', 'Run <code>npx nx run console:build</code>, then reload.');

/**
 * The console's pages (apps/console/src/main.ts routes them): `/console/<page>…` that is not a built file is
 * the page itself, so an address the console shows (`/console/events/<id>`) reloads and can be shared.
 */
export const CONSOLE_PAGES: readonly string[] = ['overview', 'events', 'dead', 'users', 'destinations', 'preview', 'erasures'];

/**
 * `GET /console`: the operator console's static files, read once from a fixed list (the build output's
 * top-level files), so no request path ever reaches the file system. It talks to /admin like any client.
 */
function consoleRoutes(scope: FastifyInstance, deps: ServerDeps): void {
  let files: Promise<Map<string, Buffer>> | undefined;
  const load = async () => {
    const names = (await readdir(CONSOLE_DIR)).filter((name) => CONSOLE_TYPES[path.extname(name)] !== undefined);
    return new Map(await Promise.all(names.map(async (name) => [name, await readFile(path.join(CONSOLE_DIR, name))] as const)));
  };

  scope.addHook('onRequest', async (_request, reply) => {
    reply.headers(CONSOLE_HEADERS);
  });
  const serve = async (name: string, reply: FastifyReply) => {
    if (deps.config.server.adminToken === undefined) return reply.code(403).type(CONSOLE_TYPES['.html']).send(CONSOLE_DISABLED);
    files ??= load().catch((error: unknown) => {
      files = undefined; // built later: try again on the next request
      throw error;
    });
    const loaded = await files.catch(() => undefined);
    if (loaded === undefined) return reply.code(503).type(CONSOLE_TYPES['.html']).send(CONSOLE_NOT_BUILT);
    const file = loaded.has(name) ? name : CONSOLE_PAGES.includes(name.split('/', 1)[0]) ? 'index.html' : undefined;
    const content = file === undefined ? undefined : loaded.get(file);
    if (file === undefined || content === undefined) return reply.code(404).send({ error: 'not found' });
    return reply.type(CONSOLE_TYPES[path.extname(file)]).send(content);
  };
  scope.get('/console', async (_request, reply) => serve('index.html', reply));
  scope.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => serve(request.params['*'] || 'index.html', reply));
}

const NO_STATS: StoreStats = { deliveries: [], oldestPendingAgeMs: [], events: 0 };

function operationsRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { store, log, admin, metrics, clock, lifecycle } = deps;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    if (!lifecycle.accepting) return reply.code(503).send({ status: 'shutting down' });
    try {
      await store.ping();
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ err: error }, 'store unavailable');
      // Only the store's own account of its health: other errors (a driver's) may name hosts or users.
      const reason = error instanceof StoreUnavailableError ? error.message : undefined;
      return reply.code(503).send({ status: 'store unavailable', reason });
    }
  });

  app.get('/metrics', async (request, reply) => {
    const stats = await log.stats(clock.now()).catch((error: unknown) => {
      request.log.warn({ err: error }, 'store unreachable: queue metrics left empty');
      return NO_STATS;
    });
    reply.type(metrics.registry.contentType);
    return metrics.render(stats, admin.destinationViews(stats), admin.orphanViews(stats));
  });
}
