import { z } from 'zod';
import { REDACTED } from '@ferry/core';
import { startFake, type FakeAnswer, type FakeVendor, type LoggedRequestBase, type VendorRequest } from '../fake-http/fake';
import { isJsonContentType, isPlainObject, JSON_CONTENT_TYPE } from '../fake-http/http';
import { callback, commonOptions, parseInput, secretsByName } from '../fake-http/input';
import { FakeCleverTapInputError, faultChances, parseFaults, type FakeFault, type RandomFaultRates, type UnprocessedFault } from './faults';
import { createRecordValidator, DEFAULT_MAX_PROPERTIES, MAX_RECORDS_PER_REQUEST, type ValidatedBatch } from './validation';

export interface FakeCleverTapOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** accountId → its valid passcode(s). Every other pair gets 401. */
  accounts?: Record<string, string | string[]>;
  /** In-flight upload requests allowed per account (default 15, CleverTap's limit); the next one gets 429. */
  maxConcurrent?: number;
  /** In-flight delete requests allowed per account (default 3, CleverTap's limit for deletions); the next one gets 429. */
  maxConcurrentDeletes?: number;
  /** Delay before answering an admitted upload, so that concurrency can be observed. Default 0. */
  latencyMs?: number;
  /** The clock for `receivedAt`. Default Date.now. */
  now?: () => number;
  /** Most `evtData` keys an event may carry (code 522). Default 256; CleverTap's newer pages say 100. */
  maxProperties?: number;
  /** Reject (code 512) an event with a key over 120 characters or a string value over 512 bytes. Default true. */
  rejectOversizedProperties?: boolean;
  /** Reject (code 512) `$`-prefixed `evtData` keys. Default false: RevenueCat sends `$email` and the like. */
  rejectDollarKeys?: boolean;
  /** Event names discarded in the dashboard (code 528), compared ignoring case and spaces. */
  discardedEvents?: string[];
  /** Called once per request when it is settled (answered, dropped or abandoned), e.g. to log it. */
  onRequest?: (request: LoggedRequest) => void;
}

/** One accepted record, in arrival order. `requestId` leads to the request (and its headers) in `requests()`. */
export interface StoredRecord {
  readonly requestId: string;
  readonly accountId: string;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  /** The record exactly as sent. */
  readonly record: unknown;
}

/** One delete request CleverTap took: the profiles it named, by `identity` and by `guid` (CleverTap id). */
export interface StoredDeletion {
  readonly requestId: string;
  readonly accountId: string;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  readonly identity: readonly string[];
  readonly guid: readonly string[];
}

/** Any request to the fake outside the control API `/_fake/`. Over HTTP the passcode is redacted from its headers. */
export interface LoggedRequest extends LoggedRequestBase<FakeFault> {
  readonly query: Readonly<Record<string, string>>;
  readonly dryRun: boolean;
}

export interface FakeCleverTap {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Accepted records in arrival order, of one account or of all. */
  records(accountId?: string): StoredRecord[];
  /** Delete requests taken, in arrival order, of one account or of all. */
  deletions(accountId?: string): StoredDeletion[];
  /** Every request so far, in arrival order. */
  requests(): LoggedRequest[];
  /** Scripts the answers to the next requests (uploads, deletions, profile reads), in order. Throws on a malformed fault. */
  inject(...faults: FakeFault[]): void;
  /** From now on, upload requests without a scripted fault meet one at these rates (replacing earlier rates). */
  injectRandomly(rates: RandomFaultRates, random?: () => number): void;
  /**
   * The profile accepted profile records built for one user key (`{ identity }` or `{ objectId }`), in one account
   * or the only one used: each record's `profileData` overwrites the keys it names, in arrival order, as CleverTap's
   * last write wins. Undefined when no profile record reached that user.
   */
  profile(user: { identity?: string; objectId?: string }, accountId?: string): Record<string, unknown> | undefined;
  /** Most upload requests held at once (throttled ones included) for one account, or over all accounts. */
  maxInFlightSeen(accountId?: string): number;
  /** Forgets records, requests, faults and peaks. Requests still in flight finish normally. */
  reset(): void;
  /** Stops listening and ends every open connection, hung ones included. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CONCURRENT = 15;
const DEFAULT_MAX_CONCURRENT_DELETES = 3;
/** CleverTap's limit per `identity` array and per `guid` array of a delete request. */
const MAX_IDS_PER_DELETE = 100;
const UPLOAD = '/1/upload';
const DELETE = '/1/delete/profiles.json';
const PROFILE = '/1/profile.json';
/** Each route and its method. */
const ROUTES: Readonly<Record<string, string>> = { [UPLOAD]: 'POST', [DELETE]: 'POST', [PROFILE]: 'GET' };
const SECRET_HEADERS = new Set(['x-clevertap-passcode', 'authorization']);
const TOO_MANY_CONCURRENT = 'Too many concurrent requests';

const optionsSchema = z.strictObject({
  ...commonOptions,
  accounts: secretsByName.optional(),
  maxConcurrent: z.int().min(1).optional(),
  maxConcurrentDeletes: z.int().min(1).optional(),
  maxProperties: z.int().min(1).optional(),
  rejectOversizedProperties: z.boolean().optional(),
  rejectDollarKeys: z.boolean().optional(),
  discardedEvents: z.array(z.string()).optional(),
  onRequest: callback<(request: LoggedRequest) => void>().optional(),
});

/**
 * Starts a loopback fake of CleverTap's `POST /1/upload` (see reference/clevertap-api.md §8), `POST
 * /1/delete/profiles.json` and `GET /1/profile.json` (libs/destinations/clevertap/reference.md).
 */
export async function startFakeCleverTap(options: FakeCleverTapOptions = {}): Promise<FakeCleverTap> {
  const settings = parseInput(optionsSchema, options, (issues) => new FakeCleverTapInputError('fake CleverTap options', issues));
  const passcodes = new Map(Object.entries(settings.accounts ?? {}).map(([id, codes]) => [id, new Set([codes].flat())]));
  const maxConcurrent = settings.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  const validate = createRecordValidator({
    maxProperties: settings.maxProperties ?? DEFAULT_MAX_PROPERTIES,
    rejectOversizedProperties: settings.rejectOversizedProperties ?? true,
    rejectDollarKeys: settings.rejectDollarKeys ?? false,
    discardedEvents: settings.discardedEvents ?? [],
  });
  const maxConcurrentDeletes = settings.maxConcurrentDeletes ?? DEFAULT_MAX_CONCURRENT_DELETES;
  const concurrency = new ConcurrencyTracker();
  const deleteConcurrency = new ConcurrencyTracker();
  const profiles = new ProfileBook();
  let deletions: StoredDeletion[] = [];
  const deletionsOf = (accountId?: string) => deletions.filter((d) => accountId === undefined || d.accountId === accountId);

  const vendor: FakeVendor<FakeFault, LoggedRequest, StoredRecord> = {
    name: 'CleverTap',
    contentType: JSON_CONTENT_TYPE,
    failure,
    statusTexts: { 429: TOO_MANY_CONCURRENT },
    storesBeforeStatus: () => false,
    describe: ({ url }) => ({
      query: Object.fromEntries(url.searchParams),
      dryRun: ['1', 'true'].includes(url.searchParams.get('dryRun') ?? ''),
    }),
    // Path, method, credentials, then the concurrency limit: a request refused on the way keeps queued faults for the next.
    admit: ({ entry }) => {
      const method = ROUTES[entry.path];
      if (method === undefined) return { refusal: failure(404, 'Not Found') };
      if (entry.method !== method) return { refusal: failure(405, 'Method Not Allowed', { allow: method }) };
      const accountId = entry.headers['x-clevertap-account-id'] ?? '';
      if (!passcodes.get(accountId)?.has(entry.headers['x-clevertap-passcode'] ?? '')) {
        return { refusal: failure(401, 'Invalid Credentials') };
      }
      if (entry.path === PROFILE) return {};
      const [tracker, limit] = entry.path === DELETE ? [deleteConcurrency, maxConcurrentDeletes] : [concurrency, maxConcurrent];
      const release = tracker.acquire(accountId);
      if (tracker.inFlight(accountId) > limit) return { refusal: failure(429, TOO_MANY_CONCURRENT), release };
      return { release };
    },
    answerOwnFault: (fault) =>
      fault.type === 'non-json-200'
        ? { status: 200, body: '<html><body>OK</body></html>', headers: { 'content-type': 'text/html; charset=utf-8' } }
        : undefined,
    // Steps 3–7 of the reference: parse, check the size, validate each record, store the accepted ones.
    upload: (request, fault) => {
      if (request.entry.path === DELETE) return deleteProfiles(request);
      if (request.entry.path === PROFILE) return readProfile(request);
      const { entry, json, take } = request;
      if (!isJsonContentType(entry.headers['content-type'])) {
        return failure(400, 'Malformed request: Content-Type must be application/json');
      }
      const records = json?.ok && isPlainObject(json.value) ? json.value['d'] : undefined;
      if (!Array.isArray(records) || records.length === 0) return failure(400, 'Malformed request');
      if (records.length > MAX_RECORDS_PER_REQUEST) {
        return failure(400, `Malformed request: ${records.length} records, at most ${MAX_RECORDS_PER_REQUEST} per request`);
      }
      const validated = validate(records);
      const { accepted, unprocessed } = fault?.type === 'unprocessed' ? refuse(records, validated, fault) : validated;
      const accountId = entry.headers['x-clevertap-account-id'];
      if (!entry.dryRun)
        for (const record of accepted) {
          take({ requestId: entry.id, accountId, receivedAt: entry.receivedAt, record });
          profiles.apply(accountId, record);
        }
      const outcome = unprocessed.length === 0 ? 'success' : accepted.length === 0 ? 'fail' : 'partial';
      return { status: 200, body: JSON.stringify({ status: outcome, processed: accepted.length, unprocessed }) };
    },
    parseFaults,
    ledger: { path: '/_fake/records', filterBy: 'accountId' },
    views: { '/_fake/deletions': (query) => deletionsOf(query.get('accountId') ?? undefined) },
    redact: (entry) => ({
      ...entry,
      headers: Object.fromEntries(
        Object.entries(entry.headers).map(([name, value]) => [name, SECRET_HEADERS.has(name) ? REDACTED : value]),
      ),
    }),
    secrets: [...passcodes.values()].flatMap((codes) => [...codes]),
    reset: () => {
      concurrency.resetPeaks();
      deleteConcurrency.resetPeaks();
      profiles.clear();
      deletions = [];
    },
  };

  /** CleverTap's checks of a deletion: JSON, `identity` or `guid` but not both, at most 100 each; then the profiles go. */
  function deleteProfiles({ entry, json }: CleverTapRequest): FakeAnswer {
    if (!isJsonContentType(entry.headers['content-type'])) return failure(400, 'Malformed request: Content-Type must be application/json');
    const body = json?.ok && isPlainObject(json.value) ? json.value : undefined;
    if (body === undefined) return failure(400, 'Malformed request');
    const identity = idList(body['identity']);
    const guid = idList(body['guid']);
    if (identity === null || guid === null)
      return failure(400, 'Malformed request: identity and guid must be strings or arrays of strings');
    if (identity.length > 0 && guid.length > 0) return failure(400, 'Malformed request: pass identity or guid, not both');
    if (identity.length + guid.length === 0) return failure(400, 'Malformed request: identity or guid is required');
    if (identity.length > MAX_IDS_PER_DELETE || guid.length > MAX_IDS_PER_DELETE) {
      return failure(400, `Malformed request: at most ${MAX_IDS_PER_DELETE} values per identity or guid array`);
    }
    const accountId = entry.headers['x-clevertap-account-id'];
    deletions.push({ requestId: entry.id, accountId, receivedAt: entry.receivedAt, identity, guid });
    for (const value of identity) profiles.forget(accountId, { identity: value });
    for (const value of guid) profiles.forget(accountId, { objectId: value });
    return { status: 200, body: JSON.stringify({ status: 'success' }) };
  }

  /** One profile by `identity` or `objectId`: CleverTap's record when a profile record reached it, else "not found". */
  function readProfile({ entry }: CleverTapRequest): FakeAnswer {
    const accountId = entry.headers['x-clevertap-account-id'];
    const { identity, objectId } = entry.query;
    if ((identity === undefined) === (objectId === undefined)) return failure(400, 'Malformed request: pass identity or objectId');
    const user = identity === undefined ? { objectId } : { identity };
    const profileData = profiles.get(user, accountId);
    if (profileData === undefined) return { status: 200, body: JSON.stringify({ status: 'fail', error: 'Profile not found' }) };
    return { status: 200, body: JSON.stringify({ status: 'success', record: { ...user, profileData } }) };
  }

  const fake = await startFake(vendor, settings);
  return {
    url: fake.url,
    records: fake.stored,
    requests: fake.requests,
    inject: fake.inject,
    injectRandomly: (rates, random = Math.random) => fake.faults.randomly(faultChances(rates), random),
    deletions: deletionsOf,
    maxInFlightSeen: (accountId) => concurrency.peak(accountId),
    profile: (user, accountId) => profiles.get(user, accountId),
    reset: fake.reset,
    close: fake.close,
  };
}

type CleverTapRequest = VendorRequest<LoggedRequest, StoredRecord>;

/** The ids of `identity` or `guid` (a string or an array of strings; absent is none), or null when malformed. */
function idList(value: unknown): string[] | null {
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) && value.every((id) => typeof id === 'string') ? value : null;
}

/** Per account and user key, the profile data accepted so far. */
class ProfileBook {
  private readonly byKey = new Map<string, Record<string, unknown>>();

  apply(accountId: string, record: unknown): void {
    if (!isPlainObject(record) || record['type'] !== 'profile' || !isPlainObject(record['profileData'])) return;
    const key = userKey(accountId, record);
    if (key === undefined) return;
    this.byKey.set(key, { ...this.byKey.get(key), ...structuredClone(record['profileData']) });
  }

  get(user: { identity?: string; objectId?: string }, accountId?: string): Record<string, unknown> | undefined {
    const accounts =
      accountId === undefined ? [...new Set([...this.byKey.keys()].map((key) => JSON.parse(key)[0] as string))] : [accountId];
    if (accounts.length > 1) throw new Error(`profiles of several accounts (${accounts.join(', ')}): name the account`);
    const key = accounts.length === 0 ? undefined : userKey(accounts[0], user as Record<string, unknown>);
    const profile = key === undefined ? undefined : this.byKey.get(key);
    return profile === undefined ? undefined : structuredClone(profile);
  }

  /** Deletes a user's profile, as a deletion does. */
  forget(accountId: string, user: { identity?: string; objectId?: string }): void {
    const key = userKey(accountId, user as Record<string, unknown>);
    if (key !== undefined) this.byKey.delete(key);
  }

  clear(): void {
    this.byKey.clear();
  }
}

/** The key a profile is filed under: the account and the first user field the record has. */
function userKey(accountId: string, record: Record<string, unknown>): string | undefined {
  for (const field of ['objectId', 'identity', 'FBID', 'GPID']) {
    const value = record[field];
    if (typeof value === 'string' && value !== '') return JSON.stringify([accountId, field, value]);
  }
  return undefined;
}

/** In-flight upload requests per account and overall, with the highest counts seen. */
class ConcurrencyTracker {
  private readonly current = new Map<string, number>();
  private readonly peaks = new Map<string, number>();
  private total = 0;
  private totalPeak = 0;

  /** Counts one more request for the account; the returned function (called once, by the skeleton) counts it out. */
  acquire(accountId: string): () => void {
    this.change(accountId, 1);
    return () => this.change(accountId, -1);
  }

  inFlight(accountId: string): number {
    return this.current.get(accountId) ?? 0;
  }

  peak(accountId?: string): number {
    return accountId === undefined ? this.totalPeak : (this.peaks.get(accountId) ?? 0);
  }

  /** Peaks restart from what is in flight now. */
  resetPeaks(): void {
    this.peaks.clear();
    for (const [accountId, count] of this.current) this.peaks.set(accountId, count);
    this.totalPeak = this.total;
  }

  private change(accountId: string, delta: number): void {
    const count = this.inFlight(accountId) + delta;
    this.current.set(accountId, count);
    this.total += delta;
    if (delta > 0) {
      this.peaks.set(accountId, Math.max(this.peak(accountId), count));
      this.totalPeak = Math.max(this.totalPeak, this.total);
    }
  }
}

/** A batch as validated, with the valid records the fault names moved to `unprocessed` under its code (numbered as CleverTap does). */
function refuse(records: readonly unknown[], validated: ValidatedBatch, fault: UnprocessedFault): ValidatedBatch {
  const code = fault.code ?? 555;
  const named = (record: unknown) => (fault.records ?? 'all') === 'all' || (isPlainObject(record) && record['type'] === fault.records);
  const refused = validated.accepted.filter(named).map((record) => ({
    status: 'fail' as const,
    code,
    error: `Fault injected by the fake. ErrorCode: ${code} - try again. Skipped record number : ${records.indexOf(record) + 1}`,
    record,
  }));
  return { accepted: validated.accepted.filter((record) => !named(record)), unprocessed: [...validated.unprocessed, ...refused] };
}

/** CleverTap's error envelope, e.g. `{"status":"fail","error":"Invalid Credentials","code":401}`. */
function failure(code: number, error: string, headers?: Record<string, string>): FakeAnswer {
  return { status: code, body: JSON.stringify({ status: 'fail', error, code }), headers };
}
