import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { REDACTED } from '@ferry/core';
import { startFake, type FakeAnswer, type FakeVendor, type LoggedRequestBase, type VendorRequest } from '../fake-http/fake';
import { isJsonContentType, isPlainObject, JSON_CONTENT_TYPE } from '../fake-http/http';
import { callback, commonOptions, parseInput, secretsByName } from '../fake-http/input';
import { FakeAmplitudeInputError, parseAmplitudeFaults, type FakeAmplitudeFault } from './faults';
import { DedupeLog, RateWindow } from './ledger';
import { checkEvents, DEFAULT_MIN_ID_LENGTH, type EventIds } from './validation';

export type AmplitudeEndpoint = '/2/httpapi' | '/batch';

export interface FakeAmplitudeOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Project name → its API key(s), e.g. `{ production: 'key-1', sandbox: 'key-2' }`. Any other key gets 400 `Invalid API key`. */
  projects?: Record<string, string | string[]>;
  /** Project name → its secret key, for the user privacy API's Basic auth (API key : secret key); any other pair gets 401. */
  secretKeys?: Record<string, string>;
  /** Most events per request; more → 413. Default 2000. */
  maxEvents?: number;
  /** Most body bytes (decompressed) per endpoint; more → 413. Defaults: 1 MB for `/2/httpapi`, 20 MB for `/batch`. */
  maxBytes?: { httpApi?: number; batch?: number };
  /**
   * Events per second per user or device, averaged over `windowMs`; a request that would go over gets 429.
   * Defaults: 30/s on `/2/httpapi`, 1000/s on `/batch`, over 30 s.
   */
  rateLimit?: { windowMs?: number; httpApi?: number; batch?: number };
  /** A 400 lists only the first failing event per field (AV2's prose) instead of all of them (its examples). */
  firstIndexOnly?: boolean;
  /** Devices Amplitude has silenced: a request with one of their events gets 400 `Events silenced for device_id`. */
  silencedDevices?: string[];
  /** Delay before answering each upload. Default 0. */
  latencyMs?: number;
  /** The clock for deduplication, rate windows and `server_upload_time`. Default Date.now. */
  now?: () => number;
  /** Called once per request when it is settled (answered, dropped or abandoned), e.g. to log it. */
  onRequest?: (request: AmplitudeLoggedRequest) => void;
}

/** One event Amplitude took, in arrival order; a duplicate `insert_id` within 7 days is not taken again. */
export interface StoredAmplitudeEvent {
  readonly requestId: string;
  readonly project: string;
  readonly endpoint: AmplitudeEndpoint;
  readonly receivedAt: number;
  /** The event exactly as sent. */
  readonly event: Readonly<Record<string, unknown>>;
}

/** One deletion request the user privacy API took for a project. */
export interface AmplitudeDeletion {
  readonly requestId: string;
  readonly project: string;
  readonly receivedAt: number;
  readonly userIds: readonly string[];
  readonly amplitudeIds: readonly number[];
  readonly requester?: string;
  /** The day the deletion job is scheduled for (YYYY-MM-DD). */
  readonly day: string;
}

/** Any request to the fake outside the control API `/_fake/`. Its body is gunzipped; over HTTP its `api_key` is redacted. */
export interface AmplitudeLoggedRequest extends LoggedRequestBase<FakeAmplitudeFault> {
  /** The project of its API key, once the key was read and known. */
  readonly project?: string;
  /** The query string, without its `?`. */
  readonly query: string;
}

export interface FakeAmplitude {
  /** `http://127.0.0.1:PORT`: the `endpoint` setting of an Amplitude destination. */
  readonly url: string;
  /** Events taken, in arrival order, of one project or of all. */
  events(project?: string): StoredAmplitudeEvent[];
  /** Deletion requests taken by the user privacy API, in arrival order, of one project or of all. */
  deletions(project?: string): AmplitudeDeletion[];
  /** Every request so far, in arrival order. */
  requests(): AmplitudeLoggedRequest[];
  /** Scripts the answers to the next requests (uploads and the user privacy API), in order. Throws on a malformed fault. */
  inject(...faults: FakeAmplitudeFault[]): void;
  /** Forgets events, requests, faults, rate windows and seen insert_ids. Requests in flight finish normally. */
  reset(): void;
  /** Stops listening and ends every open connection, hung ones included. */
  close(): Promise<void>;
}

const ENDPOINTS: Readonly<Record<string, AmplitudeEndpoint>> = { '/2/httpapi': '/2/httpapi', '/batch': '/batch' };
const DELETIONS = '/api/2/deletions/users';
/** The user privacy API takes up to 100 ids a request, Amplitude ids and user ids together. */
const MAX_IDS_PER_DELETION = 100;
/** Deletion jobs are scheduled days after the request (10–13 days; the fake says 10). */
const DELETION_DELAY_DAYS = 10;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** A project whose ids go over this many events in 24 hours is told so in a `/batch` 429 (ABU). */
const DAILY_QUOTA = 500_000;
/** Defaults per endpoint: [most body bytes, events per second per id]. */
const LIMITS: Readonly<Record<AmplitudeEndpoint, { bytes: number; eps: number }>> = {
  '/2/httpapi': { bytes: 1_000_000, eps: 30 },
  '/batch': { bytes: 20_000_000, eps: 1000 },
};

const optionsSchema = z.strictObject({
  ...commonOptions,
  projects: secretsByName.optional(),
  secretKeys: z.record(z.string().min(1), z.string().min(1)).optional(),
  maxEvents: z.int().min(1).optional(),
  maxBytes: z.strictObject({ httpApi: z.int().min(1).optional(), batch: z.int().min(1).optional() }).optional(),
  rateLimit: z
    .strictObject({
      windowMs: z.int().min(1).optional(),
      httpApi: z.number().positive().optional(),
      batch: z.number().positive().optional(),
    })
    .optional(),
  firstIndexOnly: z.boolean().optional(),
  silencedDevices: z.array(z.string().min(1)).optional(),
  onRequest: callback<(request: AmplitudeLoggedRequest) => void>().optional(),
});

type Upload = VendorRequest<AmplitudeLoggedRequest, StoredAmplitudeEvent>;

/** Amplitude's error envelope: `{"code":400,"error":"Invalid API key"}` plus any detail keys. */
const failure = (code: number, error: string, detail: Record<string, unknown> = {}): FakeAnswer => ({
  status: code,
  body: JSON.stringify({ code, error, ...detail }),
});

/**
 * Starts a loopback fake of Amplitude's HTTP V2 (`POST /2/httpapi`) and Batch (`POST /batch`) APIs (reference/amplitude.md
 * §4) and of its user privacy API (`/api/2/deletions/users`, libs/destinations/amplitude/reference.md).
 */
export async function startFakeAmplitude(options: FakeAmplitudeOptions = {}): Promise<FakeAmplitude> {
  const settings = parseInput(optionsSchema, options, (issues) => new FakeAmplitudeInputError('fake Amplitude options', issues));
  const projectByKey = new Map(
    Object.entries(settings.projects ?? {}).flatMap(([project, keys]) => [keys].flat().map((key) => [key, project] as const)),
  );
  const limits: Record<AmplitudeEndpoint, { bytes: number; eps: number }> = {
    '/2/httpapi': {
      bytes: settings.maxBytes?.httpApi ?? LIMITS['/2/httpapi'].bytes,
      eps: settings.rateLimit?.httpApi ?? LIMITS['/2/httpapi'].eps,
    },
    '/batch': { bytes: settings.maxBytes?.batch ?? LIMITS['/batch'].bytes, eps: settings.rateLimit?.batch ?? LIMITS['/batch'].eps },
  };
  const windowMs = settings.rateLimit?.windowMs ?? 30_000;
  const silenced = new Set(settings.silencedDevices ?? []);

  const rates = new RateWindow(windowMs);
  const dedupe = new DedupeLog();
  const secretKeys = settings.secretKeys ?? {};
  let deletions: AmplitudeDeletion[] = [];
  const deletionsOf = (project?: string) => deletions.filter((d) => project === undefined || d.project === project);
  // Amplitude ids the fake gave users, per project: the privacy API answers with them.
  let amplitudeIds = new Map<string, number>();
  const amplitudeIdOf = (project: string, userId: string) => {
    const key = `${project}\u0000${userId}`;
    if (!amplitudeIds.has(key)) amplitudeIds.set(key, 100_000_000 + amplitudeIds.size);
    return amplitudeIds.get(key)!;
  };

  /** The project whose API key and secret key the request's Basic auth carries, or undefined. */
  function basicAuthProject(authorization: string | undefined): string | undefined {
    const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const [apiKey, ...rest] = Buffer.from(match[1], 'base64').toString('utf8').split(':');
    const project = projectByKey.get(apiKey);
    return project !== undefined && secretKeys[project] !== undefined && secretKeys[project] === rest.join(':') ? project : undefined;
  }

  /** The user privacy API: `POST` schedules deletions, `GET` lists the jobs of a range of days. */
  function privacy({ entry, json, now }: Upload): FakeAnswer {
    const project = entry.project!; // admitted
    if (entry.method === 'GET') {
      const query = new URLSearchParams(entry.query);
      const [start, end] = [query.get('start_day') ?? '', query.get('end_day') ?? ''];
      if (!DAY.test(start) || !DAY.test(end)) return failure(400, 'start_day and end_day are required, as YYYY-MM-DD');
      const jobs = deletionsOf(project).filter(({ day }) => day >= start && day <= end);
      return {
        status: 200,
        body: JSON.stringify(jobs.map(({ day, amplitudeIds: ids }) => ({ day, status: 'staging', amplitude_ids: ids }))),
      };
    }
    if (!isJsonContentType(entry.headers['content-type']) || !json?.ok || !isPlainObject(json.value)) {
      return failure(400, 'Invalid JSON request body');
    }
    const body = json.value;
    const userIds = body['user_ids'] ?? [];
    const givenAmplitudeIds = body['amplitude_ids'] ?? [];
    if (!Array.isArray(userIds) || !userIds.every((id) => typeof id === 'string' && id !== '')) {
      return failure(400, 'user_ids must be an array of strings');
    }
    if (!Array.isArray(givenAmplitudeIds) || !givenAmplitudeIds.every((id) => Number.isSafeInteger(id))) {
      return failure(400, 'amplitude_ids must be an array of integers');
    }
    const count = userIds.length + givenAmplitudeIds.length;
    if (count === 0) return failure(400, 'Request missing required field', { missing_field: 'amplitude_ids or user_ids' });
    if (count > MAX_IDS_PER_DELETION) return failure(400, `At most ${MAX_IDS_PER_DELETION} ids may be deleted per request`);
    const known = new Set(fake.stored(project).map(({ event }) => event['user_id']));
    const unknown = userIds.filter((id) => !known.has(id));
    const ignoreInvalid = [true, 'true', 'True'].includes(body['ignore_invalid_id'] as never);
    if (unknown.length > 0 && !ignoreInvalid) return failure(400, `${unknown.length} user_ids are not in this project`);
    const at = now();
    const requester = typeof body['requester'] === 'string' ? body['requester'] : undefined;
    const ids = [...givenAmplitudeIds, ...userIds.filter((id) => known.has(id)).map((id) => amplitudeIdOf(project, id))];
    const day = new Date(at + DELETION_DELAY_DAYS * 86_400_000).toISOString().slice(0, 10);
    deletions.push({
      requestId: entry.id,
      project,
      receivedAt: entry.receivedAt,
      userIds,
      amplitudeIds: ids,
      ...(requester && { requester }),
      day,
    });
    const requestedOn = new Date(at).toISOString().slice(0, 10);
    const answer = {
      day,
      status: 'staging',
      amplitude_ids: ids.map((id) => ({ amplitude_id: id, requester, requested_on_day: requestedOn })),
    };
    return { status: 200, body: JSON.stringify(answer) };
  }

  /** Amplitude's checks, in order: body, key, size, events, silenced devices, rate; then the events are taken. */
  function upload(request: Upload, fault: FakeAmplitudeFault | undefined): FakeAnswer {
    if (request.entry.path === DELETIONS) return privacy(request);
    const { entry, text, json, now, take } = request;
    const endpoint = entry.path as AmplitudeEndpoint; // admitted
    if (text === undefined) return failure(400, 'Invalid JSON request body');
    if (text === '') return failure(400, 'Missing request body');
    if (!isJsonContentType(entry.headers['content-type'])) {
      return failure(400, 'Invalid request: Content-Type must be application/json');
    }
    const bytes = Buffer.byteLength(text);
    if (bytes > limits[endpoint].bytes) return failure(413, 'Payload too large');
    if (!json?.ok || !isPlainObject(json.value)) return failure(400, 'Invalid JSON request body');
    const { api_key: apiKey, events, options } = json.value;
    if (typeof apiKey !== 'string' || apiKey === '') return failure(400, 'Request missing required field', { missing_field: 'api_key' });
    if (!Array.isArray(events) || events.length === 0) return failure(400, 'Request missing required field', { missing_field: 'events' });
    const project = projectByKey.get(apiKey);
    if (project === undefined) return failure(400, 'Invalid API key');
    entry.project = project;
    if (events.length > (settings.maxEvents ?? 2000)) return failure(413, 'Payload too large');
    if (!events.every(isPlainObject)) return failure(400, 'Invalid event JSON');

    const requested = isPlainObject(options) ? options['min_id_length'] : undefined;
    const minIdLength = Number.isSafeInteger(requested) && (requested as number) >= 1 ? (requested as number) : DEFAULT_MIN_ID_LENGTH;
    const { problems, ids } = checkEvents(events, minIdLength, settings.firstIndexOnly ?? false);
    if (Object.keys(problems).length > 0) {
      const onlyIdLengths = Object.keys(problems).every((key) => key === 'invalidIdLengths');
      return failure(400, onlyIdLengths ? 'Invalid id length for user_id or device_id' : 'Invalid field values on some events', {
        ...(problems.invalidFields && { events_with_invalid_fields: problems.invalidFields }),
        ...(problems.missingFields && { events_with_missing_fields: problems.missingFields }),
        ...(problems.invalidIdLengths && { events_with_invalid_id_lengths: problems.invalidIdLengths }),
      });
    }

    const silencedEvents = indexesWhere(ids, ({ deviceId }) => deviceId !== undefined && silenced.has(deviceId));
    if (silencedEvents.length > 0) {
      return failure(400, 'Events silenced for device_id', {
        eps_threshold: limits[endpoint].eps,
        silenced_devices: [...new Set(silencedEvents.map((index) => ids[index].deviceId))],
        silenced_events: silencedEvents,
        throttled_devices: {},
        throttled_events: [],
        exceeded_daily_quota_devices: {},
      });
    }

    const at = now();
    const throttled = fault?.type === 'throttle' ? scripted(endpoint, ids, fault) : overRate(endpoint, project, ids, at);
    if (throttled) return throttled;

    ids.forEach(({ userId, deviceId }, index) => {
      const event = events[index] as Record<string, unknown>;
      if (userId !== undefined) rates.add(`${project}\u0000user\u0000${userId}`, at, 1);
      if (deviceId !== undefined) rates.add(`${project}\u0000device\u0000${deviceId}`, at, 1);
      const insertId = event['insert_id'];
      // Without a device_id, Amplitude derives one from the user_id: that is the scope of a dedupe.
      const scope = deviceId ?? `user:${userId}`;
      if (typeof insertId === 'string' && dedupe.seenBefore(`${project}\u0000${scope}\u0000${insertId}`, at)) return;
      take({ requestId: entry.id, project, endpoint, receivedAt: entry.receivedAt, event });
    });
    const body = { code: 200, events_ingested: events.length, payload_size_bytes: bytes, server_upload_time: at };
    return { status: 200, body: JSON.stringify(body) };
  }

  /** 429 for the ids that this request would take over the rate limit, or undefined. */
  function overRate(endpoint: AmplitudeEndpoint, project: string, ids: readonly EventIds[], at: number): FakeAnswer | undefined {
    const { eps } = limits[endpoint];
    const allowed = (eps * windowMs) / 1000;
    const over = (kind: 'user' | 'device', pick: (entry: EventIds) => string | undefined) => {
      const inRequest = new Map<string, number>();
      for (const id of ids.map(pick)) if (id !== undefined) inRequest.set(id, (inRequest.get(id) ?? 0) + 1);
      const totals = [...inRequest].map(([id, count]) => [id, rates.count(`${project}\u0000${kind}\u0000${id}`, at) + count] as const);
      return Object.fromEntries(totals.filter(([, total]) => total > allowed).map(([id, total]) => [id, rates.rate(total)]));
    };
    const users = over('user', (entry) => entry.userId);
    const devices = over('device', (entry) => entry.deviceId);
    if (Object.keys(users).length + Object.keys(devices).length === 0) return undefined;
    return throttledAnswer(endpoint, ids, users, devices, {}, {});
  }

  function scripted(
    endpoint: AmplitudeEndpoint,
    ids: readonly EventIds[],
    fault: Extract<FakeAmplitudeFault, { type: 'throttle' }>,
  ): FakeAnswer {
    const over = limits[endpoint].eps + 1;
    const map = (list: string[] | undefined, value: number) => Object.fromEntries((list ?? []).map((id) => [id, value]));
    return throttledAnswer(
      endpoint,
      ids,
      map(fault.users, over),
      map(fault.devices, over),
      map(fault.dailyQuotaUsers, DAILY_QUOTA + 1),
      map(fault.dailyQuotaDevices, DAILY_QUOTA + 1),
    );
  }

  function throttledAnswer(
    endpoint: AmplitudeEndpoint,
    ids: readonly EventIds[],
    users: Record<string, number>,
    devices: Record<string, number>,
    quotaUsers: Record<string, number>,
    quotaDevices: Record<string, number>,
  ): FakeAnswer {
    const named = (id: string | undefined, ...maps: Record<string, number>[]) =>
      id !== undefined && maps.some((map) => Object.hasOwn(map, id));
    return failure(429, 'Too many requests for some devices and users', {
      eps_threshold: limits[endpoint].eps,
      throttled_users: users,
      throttled_devices: devices,
      throttled_events: indexesWhere(
        ids,
        ({ userId, deviceId }) => named(userId, users, quotaUsers) || named(deviceId, devices, quotaDevices),
      ),
      ...(endpoint === '/batch' && { exceeded_daily_quota_users: quotaUsers, exceeded_daily_quota_devices: quotaDevices }),
    });
  }

  const vendor: FakeVendor<FakeAmplitudeFault, AmplitudeLoggedRequest, StoredAmplitudeEvent> = {
    name: 'Amplitude',
    contentType: JSON_CONTENT_TYPE,
    failure,
    // A 500, 502 or 504 may come after Amplitude took the events.
    storesBeforeStatus: (status) => [500, 502, 504].includes(status),
    decode,
    describe: ({ url }) => ({ query: url.search.replace(/^\?/, '') }),
    admit: ({ entry }) => {
      if (entry.path === DELETIONS && ['GET', 'POST'].includes(entry.method)) {
        const project = basicAuthProject(entry.headers['authorization']);
        if (project === undefined) return { refusal: failure(401, 'Invalid API key or secret key') };
        entry.project = project;
        return {};
      }
      return Object.hasOwn(ENDPOINTS, entry.path) && entry.method === 'POST' ? {} : { refusal: failure(400, 'Invalid request path') };
    },
    upload,
    parseFaults: parseAmplitudeFaults,
    ledger: { path: '/_fake/events', filterBy: 'project' },
    views: { '/_fake/deletions': (query) => deletionsOf(query.get('project') ?? undefined) },
    redact: withoutApiKey,
    secrets: [...projectByKey.keys(), ...Object.values(secretKeys)],
    reset: () => {
      rates.clear();
      dedupe.clear();
      deletions = [];
      amplitudeIds = new Map();
    },
  };

  const fake = await startFake(vendor, settings);
  return {
    url: fake.url,
    events: fake.stored,
    deletions: deletionsOf,
    requests: fake.requests,
    inject: fake.inject,
    reset: fake.reset,
    close: fake.close,
  };
}

function indexesWhere(ids: readonly EventIds[], test: (ids: EventIds) => boolean): number[] {
  return ids.flatMap((entry, index) => (test(entry) ? [index] : []));
}

/** The body as text, gunzipped when it says so; undefined when it does not decompress. */
function decode(raw: Buffer, headers: Readonly<Record<string, string>>): string | undefined {
  if ((headers['content-encoding'] ?? '').trim().toLowerCase() !== 'gzip') return raw.toString('utf8');
  try {
    return gunzipSync(raw).toString('utf8');
  } catch {
    return undefined;
  }
}

/** A logged request fit to show: the body's `api_key` and the Authorization header (Basic: both keys), known or not, replaced. */
function withoutApiKey(entry: AmplitudeLoggedRequest): AmplitudeLoggedRequest {
  const headers = entry.headers['authorization'] === undefined ? entry.headers : { ...entry.headers, authorization: REDACTED };
  const body = isPlainObject(entry.body) && 'api_key' in entry.body ? { ...entry.body, api_key: REDACTED } : entry.body;
  return { ...entry, headers, body };
}
