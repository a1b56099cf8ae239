import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { issuesFromZod, REDACTED } from '@ferry/core';
import { flattenHeaders, isPlainObject, parseJson, type JsonParse } from '../fake-http/http';
import { callback, commonOptions, secretsByName } from '../fake-http/input';
import { answerer, startFakeHttp, type FakeExchange } from '../fake-http/server';
import { FakeCleverTapInputError, FaultPlan, parseFaults, type FakeFault, type RandomFaultRates } from './faults';
import { createRecordValidator, DEFAULT_MAX_PROPERTIES, MAX_RECORDS_PER_REQUEST } from './validation';

export interface FakeCleverTapOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** accountId → its valid passcode(s). Every other pair gets 401. */
  accounts?: Record<string, string | string[]>;
  /** In-flight upload requests allowed per account (default 15, CleverTap's limit); the next one gets 429. */
  maxConcurrent?: number;
  /** Delay before answering an admitted upload, so that concurrency can be observed. Default 0. */
  latencyMs?: number;
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

/** Any request to the fake outside the control API `/_fake/`. */
export interface LoggedRequest {
  readonly id: string;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case names. In process they are as sent, passcode included; over HTTP the passcode is redacted. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
  readonly dryRun: boolean;
  /** The status answered; null while pending and when the connection was dropped or left hanging. */
  readonly status: number | null;
  /** The injected fault that shaped the answer, if any. */
  readonly fault?: FakeFault['type'];
}

export interface FakeCleverTap {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Accepted records in arrival order, of one account or of all. */
  records(accountId?: string): StoredRecord[];
  /** Every request so far, in arrival order. */
  requests(): LoggedRequest[];
  /** Scripts the answers to the next upload requests, in order. Throws on a malformed fault. */
  inject(...faults: FakeFault[]): void;
  /** From now on, upload requests without a scripted fault meet one at these rates (replacing earlier rates). */
  injectRandomly(rates: RandomFaultRates, random?: () => number): void;
  /** Most upload requests held at once (throttled ones included) for one account, or over all accounts. */
  maxInFlightSeen(accountId?: string): number;
  /** Forgets records, requests, faults and peaks. Requests still in flight finish normally. */
  reset(): void;
  /** Stops listening and ends every open connection, hung ones included. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CONCURRENT = 15;
const SECRET_HEADERS = new Set(['x-clevertap-passcode', 'authorization']);
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const INVALID_CREDENTIALS = failure(401, 'Invalid Credentials');
const MALFORMED = failure(400, 'Malformed request');
const TOO_MANY_REQUESTS = failure(429, 'Too many concurrent requests');

const optionsSchema = z.strictObject({
  ...commonOptions,
  accounts: secretsByName.optional(),
  maxConcurrent: z.int().min(1).optional(),
  maxProperties: z.int().min(1).optional(),
  rejectOversizedProperties: z.boolean().optional(),
  rejectDollarKeys: z.boolean().optional(),
  discardedEvents: z.array(z.string()).optional(),
  onRequest: callback<(request: LoggedRequest) => void>().optional(),
});

type MutableRequest = { -readonly [K in keyof LoggedRequest]: LoggedRequest[K] };

/** Starts a loopback fake of CleverTap's `POST /1/upload` (see reference/clevertap-api.md §8). */
export async function startFakeCleverTap(options: FakeCleverTapOptions = {}): Promise<FakeCleverTap> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new FakeCleverTapInputError('fake CleverTap options', issuesFromZod(parsed.error.issues));
  const settings = parsed.data;
  const passcodes = new Map(Object.entries(settings.accounts ?? {}).map(([id, codes]) => [id, new Set([codes].flat())]));
  const allPasscodes = [...passcodes.values()].flatMap((codes) => [...codes]);
  const maxConcurrent = settings.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  const validate = createRecordValidator({
    maxProperties: settings.maxProperties ?? DEFAULT_MAX_PROPERTIES,
    rejectOversizedProperties: settings.rejectOversizedProperties ?? true,
    rejectDollarKeys: settings.rejectDollarKeys ?? false,
    discardedEvents: settings.discardedEvents ?? [],
  });

  let stored: StoredRecord[] = [];
  let logged: MutableRequest[] = [];
  let requestCount = 0;
  const faults = new FaultPlan();
  const concurrency = new ConcurrencyTracker();

  async function serve(exchange: FakeExchange): Promise<void> {
    const { req, url } = exchange;
    const text = exchange.body.toString('utf8');
    const json = parseJson(text);
    const entry: MutableRequest = {
      id: `req-${++requestCount}`,
      receivedAt: Date.now(),
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: flattenHeaders(req),
      body: json.ok ? json.value : text === '' ? undefined : text,
      dryRun: ['1', 'true'].includes(url.searchParams.get('dryRun') ?? ''),
      status: null,
    };
    logged.push(entry);
    const { answer, drop: reset } = answerer(exchange, entry, JSON_CONTENT_TYPE, () => settings.onRequest?.({ ...entry }));

    if (url.pathname !== '/1/upload') return answer(404, failure(404, 'Not Found'));
    if (entry.method !== 'POST') return answer(405, failure(405, 'Method Not Allowed'), { allow: 'POST' });
    const accountId = entry.headers['x-clevertap-account-id'] ?? '';
    if (!passcodes.get(accountId)?.has(entry.headers['x-clevertap-passcode'] ?? '')) {
      return answer(401, INVALID_CREDENTIALS);
    }

    // The slot is freed just before the answer is written, so a client that waits for answers never overlaps.
    const release = concurrency.acquire(accountId);
    exchange.res.once('close', release);
    const answerInSlot: typeof answer = (...args) => {
      release();
      answer(...args);
    };
    const drop = () => {
      release();
      reset();
    };
    if (concurrency.inFlight(accountId) > maxConcurrent) return answerInSlot(429, TOO_MANY_REQUESTS);
    if (settings.latencyMs) await exchange.wait(settings.latencyMs);

    const fault = faults.next();
    if (fault) entry.fault = fault.type;
    switch (fault?.type) {
      case 'status': {
        const standard = fault.status === 429 ? TOO_MANY_REQUESTS : failure(fault.status, STATUS_CODES[fault.status] ?? 'Error');
        return answerInSlot(fault.status, fault.body ?? standard, {
          'content-type': fault.contentType ?? JSON_CONTENT_TYPE,
          ...fault.headers,
        });
      }
      case 'hang':
        return; // no answer: the client's timeout or close() ends it
      case 'reset-before-store':
        return drop();
      case 'non-json-200':
        return answerInSlot(200, '<html><body>OK</body></html>', { 'content-type': 'text/html; charset=utf-8' });
    }

    const result = upload(req.headers['content-type'], json, entry, accountId);
    if (fault?.type === 'reset-after-store') return drop();
    answerInSlot(result.status, result.body);
  }

  /** Steps 3–7 of the reference: parse, check the size, validate each record, store the accepted ones. */
  function upload(contentType: string | undefined, json: JsonParse, entry: LoggedRequest, accountId: string) {
    const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/json') {
      return { status: 400, body: failure(400, 'Malformed request: Content-Type must be application/json') };
    }
    const records = json.ok && isPlainObject(json.value) ? json.value['d'] : undefined;
    if (!Array.isArray(records) || records.length === 0) return { status: 400, body: MALFORMED };
    if (records.length > MAX_RECORDS_PER_REQUEST) {
      const error = `Malformed request: ${records.length} records, at most ${MAX_RECORDS_PER_REQUEST} per request`;
      return { status: 400, body: failure(400, error) };
    }
    const { accepted, unprocessed } = validate(records);
    if (!entry.dryRun) {
      for (const record of accepted) stored.push({ requestId: entry.id, accountId, receivedAt: entry.receivedAt, record });
    }
    const outcome = unprocessed.length === 0 ? 'success' : accepted.length === 0 ? 'fail' : 'partial';
    return { status: 200, body: JSON.stringify({ status: outcome, processed: accepted.length, unprocessed }) };
  }

  const server = await startFakeHttp({
    port: settings.port,
    host: settings.host,
    contentType: JSON_CONTENT_TYPE,
    crashBody: (message) => failure(500, `Fake CleverTap error: ${message}`),
    serve,
    // What a person following the README reads with curl; never shows a passcode.
    control: {
      views: {
        '/_fake/records': (query) => fake.records(query.get('accountId') ?? undefined),
        '/_fake/requests': () => fake.requests().map(redactHeaders),
      },
      queueFaults: (input) => {
        const parsedFaults = parseFaults(input);
        faults.script(parsedFaults);
        return parsedFaults.length;
      },
      reset: () => fake.reset(),
      secrets: allPasscodes,
    },
  });

  const fake: FakeCleverTap = {
    url: server.url,
    records: (accountId) => (accountId === undefined ? [...stored] : stored.filter((r) => r.accountId === accountId)),
    requests: () => logged.map((entry) => ({ ...entry })),
    inject: (...injected) => faults.script(parseFaults(injected)),
    injectRandomly: (rates, random = Math.random) => faults.randomly(rates, random),
    maxInFlightSeen: (accountId) => concurrency.peak(accountId),
    reset: () => {
      stored = [];
      logged = [];
      faults.clear();
      concurrency.resetPeaks();
    },
    close: () => server.close(),
  };
  return fake;
}

/** In-flight upload requests per account and overall, with the highest counts seen. */
class ConcurrencyTracker {
  private readonly current = new Map<string, number>();
  private readonly peaks = new Map<string, number>();
  private total = 0;
  private totalPeak = 0;

  /** Counts one more request for the account; the returned function (safe to call twice) counts it out. */
  acquire(accountId: string): () => void {
    this.change(accountId, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.change(accountId, -1);
    };
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

function redactHeaders(entry: LoggedRequest): LoggedRequest {
  const headers = Object.fromEntries(
    Object.entries(entry.headers).map(([name, value]) => [name, SECRET_HEADERS.has(name) ? REDACTED : value]),
  );
  return { ...entry, headers };
}

/** CleverTap's error envelope, e.g. `{"status":"fail","error":"Invalid Credentials","code":401}`. */
function failure(code: number, error: string): string {
  return JSON.stringify({ status: 'fail', error, code });
}
