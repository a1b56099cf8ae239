import { z } from 'zod';
import { REDACTED } from '@ferry/core';
import { startFake, type FakeAnswer, type FakeVendor, type LoggedRequestBase, type VendorRequest } from '../fake-http/fake';
import { isJsonContentType, isPlainObject, JSON_CONTENT_TYPE } from '../fake-http/http';
import { callback, commonOptions, parseInput, secretsByName } from '../fake-http/input';
import { FakeBrazeInputError, parseBrazeFaults, type FakeBrazeFault } from './faults';
import { BRAZE_ARRAYS, objectError, objectUser, type BrazeArray, type ObjectError, type ObjectUser } from './validation';

export interface FakeBrazeOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Workspace name → its REST API key(s), e.g. `{ production: 'key-1', sandbox: 'key-2' }`. Any other key gets 401. */
  workspaces?: Record<string, string | string[]>;
  /** Most objects per request: attributes, events and purchases together (current plans). Default 75. */
  maxObjects?: number;
  /** Count `maxObjects` per array instead (legacy plans: 75 each). */
  limitPerArray?: boolean;
  /** Requests per workspace per window before 429. Default Braze's 3,000 every 3 s. */
  rateLimit?: { requests: number; windowSeconds: number };
  /** Delay before answering each upload. Default 0. */
  latencyMs?: number;
  /** The clock for rate windows and logs. Default Date.now. */
  now?: () => number;
  /** Called once per request when it is settled (answered, dropped or abandoned), e.g. to log it. */
  onRequest?: (request: BrazeLoggedRequest) => void;
}

/** An event or purchase Braze took, in arrival order. Braze keeps no dedupe: one sent twice is here twice. */
export interface StoredBrazeObject {
  readonly requestId: string;
  readonly workspace: string;
  readonly array: 'events' | 'purchases';
  /** The profile it landed on: `external_id:<id>` or `alias:<label>:<name>`. */
  readonly user: string;
  readonly receivedAt: number;
  /** The object exactly as sent. */
  readonly object: Readonly<Record<string, unknown>>;
}

/** A user profile: created by an object naming a new external id, or by an attributes object creating an alias. */
export interface BrazeProfile {
  readonly workspace: string;
  readonly user: string;
  /** Custom attributes, last write wins (`null` removes one). */
  readonly attributes: Record<string, unknown>;
}

/** A valid object Braze silently ignored: its alias (or, with `_update_existing_only`, its user) has no profile. */
export interface DroppedBrazeObject {
  readonly requestId: string;
  readonly workspace: string;
  readonly array: BrazeArray;
  readonly index: number;
  readonly user: string;
}

/** One `/users/delete` request Braze took: the identifiers it named, and how many profiles it deleted. */
export interface BrazeDeletion {
  readonly requestId: string;
  readonly workspace: string;
  readonly receivedAt: number;
  readonly externalIds: readonly string[];
  readonly userAliases: readonly { readonly alias_name: string; readonly alias_label: string }[];
  readonly deleted: number;
}

/** Any request to the fake outside the control API `/_fake/`. Over HTTP its Authorization header is redacted. */
export interface BrazeLoggedRequest extends LoggedRequestBase<FakeBrazeFault> {
  /** The workspace of its API key, once known. */
  readonly workspace?: string;
  /** Objects in the body, when it was read: attributes, events and purchases together. */
  readonly objects?: number;
}

export interface FakeBraze {
  /** `http://127.0.0.1:PORT`: the `restEndpoint` setting of a Braze destination. */
  readonly url: string;
  /** Events and purchases taken, in arrival order, of one workspace or of all. */
  objects(workspace?: string): StoredBrazeObject[];
  /** Profiles, in order of creation, of one workspace or of all. */
  profiles(workspace?: string): BrazeProfile[];
  /** Objects ignored for want of a profile. */
  dropped(): DroppedBrazeObject[];
  /** `/users/delete` requests taken, in arrival order, of one workspace or of all. */
  deletions(workspace?: string): BrazeDeletion[];
  /** Every request so far, in arrival order. */
  requests(): BrazeLoggedRequest[];
  /** Scripts the answers to the next requests (`/users/track`, `/users/delete`, `/events/list`), in order. Throws on a malformed fault. */
  inject(...faults: FakeBrazeFault[]): void;
  /** Forgets objects, profiles, requests, faults and rate windows. Requests in flight finish normally. */
  reset(): void;
  /** Stops listening and ends every open connection, hung ones included. */
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  ...commonOptions,
  workspaces: secretsByName.optional(),
  maxObjects: z.int().min(1).optional(),
  limitPerArray: z.boolean().optional(),
  rateLimit: z.strictObject({ requests: z.int().min(1), windowSeconds: z.int().min(1) }).optional(),
  onRequest: callback<(request: BrazeLoggedRequest) => void>().optional(),
});

/** Each route and its method. */
const ROUTES: Readonly<Record<string, string>> = { '/users/track': 'POST', '/users/delete': 'POST', '/events/list': 'GET' };
/** `/users/delete` takes one kind of identifier a request, at most 50 of it. */
const DELETE_KINDS = ['external_ids', 'user_aliases', 'braze_ids', 'email_addresses', 'phone_numbers'] as const;
const MAX_IDS_PER_DELETE = 50;

const NO_VALID_OBJECT = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.";

/** Braze's answer envelope: `{"message": …}` plus any detail keys. */
const answer = (status: number, message: string, detail: Record<string, unknown> = {}, headers?: Record<string, string>): FakeAnswer => ({
  status,
  body: JSON.stringify({ message, ...detail }),
  ...(headers && { headers }),
});

type Upload = VendorRequest<BrazeLoggedRequest, StoredBrazeObject>;

/**
 * Starts a loopback fake of Braze's `POST /users/track` (reference/braze.md §4), `POST /users/delete` and `GET
 * /events/list` (libs/destinations/braze/reference.md).
 */
export async function startFakeBraze(options: FakeBrazeOptions = {}): Promise<FakeBraze> {
  const settings = parseInput(optionsSchema, options, (issues) => new FakeBrazeInputError('fake Braze options', issues));
  const workspaceByKey = new Map(
    Object.entries(settings.workspaces ?? {}).flatMap(([workspace, keys]) => [keys].flat().map((key) => [key, workspace] as const)),
  );
  const maxObjects = settings.maxObjects ?? 75;
  const { requests: budget, windowSeconds } = settings.rateLimit ?? { requests: 3000, windowSeconds: 3 };
  const now = settings.now ?? Date.now;

  let profiles = new Map<string, BrazeProfile>();
  let dropped: DroppedBrazeObject[] = [];
  let deletions: BrazeDeletion[] = [];
  const deletionsOf = (workspace?: string) => deletions.filter((d) => workspace === undefined || d.workspace === workspace);
  let windows = new Map<string, { window: number; used: number }>();
  // The stored objects, once the skeleton holds them (the events list reads them).
  let fakeObjects: (workspace?: string) => StoredBrazeObject[] = () => [];

  /** The rate-limit headers Braze sends with every answer, for a workspace's current window. */
  function rateHeaders(workspace: string, remaining?: number): Record<string, string> {
    const window = Math.floor(now() / 1000 / windowSeconds);
    const used = windows.get(workspace)?.window === window ? windows.get(workspace)!.used : 0;
    return {
      'X-RateLimit-Limit': String(budget),
      'X-RateLimit-Remaining': String(remaining ?? Math.max(0, budget - used)),
      'X-RateLimit-Reset': String((window + 1) * windowSeconds),
    };
  }

  /** Counts a request against its workspace's window; false when the budget is spent. */
  function spend(workspace: string): boolean {
    const window = Math.floor(now() / 1000 / windowSeconds);
    const current = windows.get(workspace);
    const used = current?.window === window ? current.used : 0;
    if (used >= budget) return false;
    windows.set(workspace, { window, used: used + 1 });
    return true;
  }

  function admit({ exchange, entry }: Upload) {
    if (ROUTES[entry.path] !== exchange.req.method) return { refusal: answer(404, 'Not Found') };
    const authorization = entry.headers['authorization'] ?? '';
    const workspace = authorization.startsWith('Bearer ') ? workspaceByKey.get(authorization.slice('Bearer '.length)) : undefined;
    if (workspace === undefined) return { refusal: answer(401, 'Invalid API Key') };
    entry.workspace = workspace;
    // Braze's 3,000-per-3-seconds budget is /users/track's; the other endpoints have budgets of their own.
    if (entry.path === '/users/track' && !spend(workspace)) return { refusal: answer(429, 'Rate Limited', {}, rateHeaders(workspace, 0)) };
    return {};
  }

  function upload(request: Upload): FakeAnswer {
    if (request.entry.path === '/users/delete') return deleteUsers(request);
    if (request.entry.path === '/events/list') return listEvents(request);
    return track(request);
  }

  /** Braze's checks of a deletion: JSON, one kind of identifier, at most 50; then the profiles named go. */
  function deleteUsers({ entry, text, json }: Upload): FakeAnswer {
    const workspace = entry.workspace!; // admitted
    if (text === undefined || !isJsonContentType(entry.headers['content-type']) || !json?.ok || !isPlainObject(json.value)) {
      return answer(400, 'Bad Request');
    }
    const body = json.value;
    const kinds = DELETE_KINDS.filter((kind) => body[kind] !== undefined);
    if (kinds.length !== 1) return answer(400, `Exactly one of ${DELETE_KINDS.join(', ')} must be provided`);
    const ids = body[kinds[0]];
    if (!Array.isArray(ids) || ids.length === 0) return answer(400, `${kinds[0]} must be a non-empty array`);
    if (ids.length > MAX_IDS_PER_DELETE) return answer(400, 'Max Input Length Exceeded');
    const externalIds = kinds[0] === 'external_ids' ? ids : [];
    const userAliases = kinds[0] === 'user_aliases' ? ids : [];
    if (!externalIds.every((id) => typeof id === 'string' && id !== '')) return answer(400, 'external_ids must be non-empty strings');
    const aliasValid = (alias: unknown) =>
      isPlainObject(alias) && typeof alias['alias_name'] === 'string' && typeof alias['alias_label'] === 'string';
    if (!userAliases.every(aliasValid)) return answer(400, 'user_aliases must be user alias objects');
    const keys = [
      ...externalIds.map((id) => `external_id:${id}`),
      ...userAliases.map((alias) => `alias:${alias['alias_label']}:${alias['alias_name']}`),
    ];
    const deleted = keys.filter((key) => profiles.delete(`${workspace}\u0000${key}`)).length;
    deletions.push({ requestId: entry.id, workspace, receivedAt: entry.receivedAt, externalIds, userAliases, deleted });
    return answer(201, 'success', { deleted });
  }

  /** The workspace's custom event names: a read that changes nothing. */
  function listEvents({ entry }: Upload): FakeAnswer {
    const workspace = entry.workspace!; // admitted
    const names = fakeObjects(workspace).flatMap(({ array, object }) => (array === 'events' ? [String(object['name'])] : []));
    return answer(200, 'success', { events: [...new Set(names)] });
  }

  /** Braze's checks, in order: body, size, each object; then attributes, events and purchases are processed. */
  function track({ entry, text, json, take }: Upload): FakeAnswer {
    const workspace = entry.workspace!; // admitted
    const headers = rateHeaders(workspace);
    if (text === undefined || !isJsonContentType(entry.headers['content-type']) || !json?.ok || !isPlainObject(json.value)) {
      return answer(400, 'Bad Request', {}, headers);
    }
    const body = json.value;
    if (BRAZE_ARRAYS.some((array) => body[array] !== undefined && !Array.isArray(body[array])))
      return answer(400, 'Bad Request', {}, headers);
    const arrays = Object.fromEntries(BRAZE_ARRAYS.map((array) => [array, (body[array] as unknown[] | undefined) ?? []])) as Record<
      BrazeArray,
      unknown[]
    >;
    const counts = BRAZE_ARRAYS.map((array) => arrays[array].length);
    entry.objects = counts.reduce((a, b) => a + b, 0);
    if (settings.limitPerArray ? Math.max(...counts) > maxObjects : entry.objects > maxObjects) {
      return answer(400, 'Max Input Length Exceeded', {}, headers);
    }

    const errors: ObjectError[] = [];
    const valid = BRAZE_ARRAYS.flatMap((array) =>
      arrays[array].flatMap((object, index) => {
        const type = objectError(array, object);
        if (type !== undefined) errors.push({ type, input_array: array, index });
        return type === undefined ? [{ array, index, object: object as Record<string, unknown> }] : [];
      }),
    );
    if (valid.length === 0) return answer(400, NO_VALID_OBJECT, { errors }, headers);

    // Attributes first, then events, then purchases (Braze's order): an alias created above is there for its event.
    for (const { array, index, object } of valid) {
      const user = objectUser(object) as ObjectUser;
      const key = `${workspace}\u0000${user.key}`;
      const updateExistingOnly = object['_update_existing_only'] ?? (user.alias ? true : false);
      // With an alias, events and purchases never create a profile; only attributes with `_update_existing_only: false` do.
      const mayCreate = array === 'attributes' ? updateExistingOnly === false : !user.alias && updateExistingOnly === false;
      let profile = profiles.get(key);
      if (!profile && mayCreate) profiles.set(key, (profile = { workspace, user: user.key, attributes: {} }));
      if (!profile) {
        dropped.push({ requestId: entry.id, workspace, array, index, user: user.key });
        continue;
      }
      if (array === 'attributes') {
        for (const [name, value] of Object.entries(object)) {
          if (['external_id', 'user_alias', 'braze_id', 'email', 'phone', '_update_existing_only'].includes(name)) continue;
          if (value === null) delete profile.attributes[name];
          else profile.attributes[name] = value;
        }
      } else take({ requestId: entry.id, workspace, array, user: user.key, receivedAt: entry.receivedAt, object });
    }
    const processed = Object.fromEntries(
      BRAZE_ARRAYS.filter((array) => body[array] !== undefined).map((array) => [
        `${array}_processed`,
        valid.filter((v) => v.array === array).length,
      ]),
    );
    // 201, as Braze's other POST endpoints answer: a client must take any 2xx.
    return answer(201, 'success', { ...processed, ...(errors.length > 0 && { errors }) }, headers);
  }

  function answerOwnFault(fault: FakeBrazeFault): FakeAnswer | undefined {
    if (fault.type !== 'rate-limit') return undefined;
    const reset = Math.floor(now() / 1000) + (fault.resetInSeconds ?? 1);
    return answer(
      429,
      'Rate Limited',
      {},
      {
        'X-RateLimit-Limit': String(budget),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(reset),
        ...(fault.retryAfterSeconds !== undefined && { 'X-RateLimit-Retry-After': String(fault.retryAfterSeconds) }),
      },
    );
  }

  const profileList = (workspace?: string) =>
    [...profiles.values()].filter((profile) => workspace === undefined || profile.workspace === workspace).map((p) => structuredClone(p));

  const vendor: FakeVendor<FakeBrazeFault, BrazeLoggedRequest, StoredBrazeObject> = {
    name: 'Braze',
    contentType: JSON_CONTENT_TYPE,
    failure: (status, error) => answer(status, error),
    // Whether Braze processed part of a request it failed is undocumented: a status takes nothing unless `afterStore`.
    storesBeforeStatus: () => false,
    describe: () => ({}),
    admit,
    answerOwnFault,
    upload,
    parseFaults: parseBrazeFaults,
    ledger: { path: '/_fake/objects', filterBy: 'workspace' },
    views: {
      '/_fake/users': (query) => profileList(query.get('workspace') ?? undefined),
      '/_fake/dropped': () => [...dropped],
      '/_fake/deletions': (query) => deletionsOf(query.get('workspace') ?? undefined),
    },
    redact: (entry) => (entry.headers['authorization'] ? { ...entry, headers: { ...entry.headers, authorization: REDACTED } } : entry),
    secrets: [...workspaceByKey.keys()],
    reset: () => {
      profiles = new Map();
      dropped = [];
      deletions = [];
      windows = new Map();
    },
  };

  const fake = await startFake(vendor, settings);
  fakeObjects = fake.stored;
  return {
    url: fake.url,
    objects: fake.stored,
    profiles: profileList,
    dropped: () => [...dropped],
    deletions: deletionsOf,
    requests: fake.requests,
    inject: fake.inject,
    reset: fake.reset,
    close: fake.close,
  };
}
