import { STATUS_CODES } from 'node:http';
import { flattenHeaders, parseJson, type JsonParse } from './http';
import { FaultPlan, isCommonFault, type StatusFault } from './faults';
import { answerer, startFakeHttp, type FakeExchange } from './server';

/** What every fake logs of a request outside the control API `/_fake/`; a fake adds its own fields. */
export interface LoggedRequestBase<Fault extends { readonly type: string }> {
  readonly id: string;
  /** Epoch milliseconds, by the fake's clock. */
  readonly receivedAt: number;
  readonly method: string;
  readonly path: string;
  /** Lower-case names, as sent (secrets included); the control API shows them redacted. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  readonly body: unknown;
  /** The status answered; null while pending and when the connection was dropped or left hanging. */
  readonly status: number | null;
  /** The injected fault that shaped the answer, if any. */
  readonly fault?: Fault['type'];
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An answer of a fake's own routes. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: string;
  /** Any case; a content type given here replaces the fake's default. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One request to a fake's own routes, as its vendor part sees it. */
export interface VendorRequest<Entry, Stored> {
  readonly exchange: FakeExchange;
  /** Its log entry: a vendor may fill in what it learns (the project of a key). */
  readonly entry: Mutable<Entry>;
  /** The body as text; undefined when it does not decode. */
  readonly text: string | undefined;
  /** `text` parsed; undefined when it does not decode. */
  readonly json: JsonParse | undefined;
  /** The fake's clock. */
  now(): number;
  /** Keeps a record the fake accepted, for `stored()` and the control API. */
  take(record: Stored): void;
}

/** Whether a request may go on to the fault plan and the upload. */
export interface Admission {
  /** The answer instead of the upload (a wrong path, bad credentials, too many requests). */
  readonly refusal?: FakeAnswer;
  /** Frees what admitting took (a concurrency slot); runs once, just before the answer is written or when the request ends. */
  readonly release?: () => void;
}

/** How one vendor's fake differs from another: everything but the control API, fault plan, clock and logs. */
export interface FakeVendor<Fault extends { readonly type: string }, Entry extends LoggedRequestBase<Fault>, Stored> {
  /** Shown in crash answers: `Fake CleverTap error: …`. */
  readonly name: string;
  readonly contentType: string;
  /** An error answer in the vendor's envelope. */
  failure(status: number, error: string): FakeAnswer;
  /** Error texts of scripted statuses that the vendor words its own way; others use the standard reason phrase. */
  readonly statusTexts?: Readonly<Record<number, string>>;
  /** Whether a scripted status without `afterStore` takes the records before answering. */
  storesBeforeStatus(status: number): boolean;
  /** The body as text (gunzipped, say); undefined when it does not decode. Default UTF-8. */
  decode?(raw: Buffer, headers: Readonly<Record<string, string>>): string | undefined;
  /** The vendor's own log fields. */
  describe(exchange: FakeExchange): Omit<Entry, keyof LoggedRequestBase<Fault>>;
  /** Routing and credentials, before any latency or fault. */
  admit(request: VendorRequest<Entry, Stored>): Admission;
  /** A fault of the vendor's own, answered instead of uploading; undefined to upload (passing it on to `upload`). */
  answerOwnFault?(fault: Fault): FakeAnswer | undefined;
  /** Checks the upload, takes what the vendor accepts, and answers. `fault` is the one being played, if any. */
  upload(request: VendorRequest<Entry, Stored>, fault: Fault | undefined): FakeAnswer;
  /** Validates one fault or a list of them; throws a FakeInputError for a bad one. */
  parseFaults(input: unknown): Fault[];
  /** The `GET` view of the records taken, and the field of a record its query filters by. */
  readonly ledger: { readonly path: string; readonly filterBy: keyof Stored & string };
  /** More `GET` views of the vendor's own state under `/_fake/` (Braze's profiles, say). */
  readonly views?: Readonly<Record<string, (query: URLSearchParams) => unknown>>;
  /** A logged request fit to show over HTTP. */
  redact(entry: Entry): Entry;
  /** Values no control answer may show (passcodes, API keys). */
  readonly secrets: readonly string[];
  /** Forgets the vendor's own state (rate windows, peaks) on reset. */
  reset?(): void;
}

export interface FakeSettings<Entry> {
  readonly port?: number;
  readonly host?: string;
  /** Delay before answering each admitted upload. */
  readonly latencyMs?: number;
  /** Default Date.now. */
  readonly now?: () => number;
  /** Called once per request when it is settled (answered, dropped or abandoned). */
  readonly onRequest?: (request: Entry) => void;
}

export interface Fake<Fault, Entry, Stored> {
  readonly url: string;
  /** Records taken, in arrival order; only those whose `filterBy` field is `key` when given. */
  stored(key?: string): Stored[];
  /** Every request so far, in arrival order. */
  requests(): Entry[];
  /** Validates, then scripts the answers to the next uploads, in order. */
  inject(...faults: unknown[]): void;
  readonly faults: FaultPlan<Fault>;
  /** Forgets records, requests, faults and the vendor's own state. Requests in flight finish normally. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts a fake of one vendor's upload API on the shared skeleton: request log, fault plan, clock, ledger, control API. */
export async function startFake<Fault extends { readonly type: string }, Entry extends LoggedRequestBase<Fault>, Stored>(
  vendor: FakeVendor<Fault, Entry, Stored>,
  settings: FakeSettings<Entry>,
): Promise<Fake<Fault, Entry, Stored>> {
  const now = settings.now ?? Date.now;
  let stored: Stored[] = [];
  let logged: Mutable<Entry>[] = [];
  let requestCount = 0;
  const faults = new FaultPlan<Fault>();

  const statusAnswer = ({ status, body, contentType, headers }: StatusFault): FakeAnswer => ({
    status,
    body: body ?? vendor.failure(status, vendor.statusTexts?.[status] ?? STATUS_CODES[status] ?? 'Error').body,
    headers: { ...(contentType && { 'content-type': contentType }), ...headers },
  });

  async function serve(exchange: FakeExchange): Promise<void> {
    const { req, url, body: raw } = exchange;
    const headers = flattenHeaders(req);
    const text = vendor.decode ? vendor.decode(raw, headers) : raw.toString('utf8');
    const json = text === undefined ? undefined : parseJson(text);
    const base: LoggedRequestBase<Fault> = {
      id: `req-${++requestCount}`,
      receivedAt: now(),
      method: req.method ?? '',
      path: url.pathname,
      headers,
      body: json?.ok ? json.value : text === '' ? undefined : (text ?? `<${raw.length} bytes that do not decode>`),
      status: null,
    };
    const entry = { ...base, ...vendor.describe(exchange) } as Mutable<Entry>;
    logged.push(entry);
    const request: VendorRequest<Entry, Stored> = { exchange, entry, text, json, now, take: (record) => stored.push(record) };

    const written = answerer(exchange, entry, vendor.contentType, () => settings.onRequest?.({ ...entry }));
    const admission = vendor.admit(request);
    let released = !admission.release;
    const release = () => {
      if (released) return;
      released = true;
      admission.release?.();
    };
    exchange.res.once('close', release);
    // Released just before the answer is written, so a client that waits for answers never overlaps.
    const answer = ({ status, body, headers: extra }: FakeAnswer) => {
      release();
      written.answer(status, body, extra);
    };
    const drop = () => {
      release();
      written.drop();
    };
    if (admission.refusal) return answer(admission.refusal);
    if (settings.latencyMs) await exchange.wait(settings.latencyMs);

    const fault = faults.next();
    if (fault) entry.fault = fault.type;
    const common = fault && isCommonFault(fault) ? fault : undefined;
    switch (common?.type) {
      case 'status':
        if (common.afterStore ?? vendor.storesBeforeStatus(common.status)) break;
        return answer(statusAnswer(common));
      case 'hang':
        return; // no answer: the client's timeout or close() ends it
      case 'reset-before-store':
        return drop();
      case 'delay':
        await exchange.wait(common.ms);
    }
    const own = fault && !common ? vendor.answerOwnFault?.(fault) : undefined;
    if (own) return answer(own);

    const result = vendor.upload(request, fault);
    if (common?.type === 'status') return answer(statusAnswer(common));
    if (common?.type === 'reset-after-store') return drop();
    answer(result);
  }

  const { path: ledgerPath, filterBy } = vendor.ledger;
  const storedRecords = (key?: string) => (key === undefined ? [...stored] : stored.filter((record) => record[filterBy] === key));
  const requests = () => logged.map((entry) => ({ ...entry }));
  const reset = () => {
    stored = [];
    logged = [];
    faults.clear();
    vendor.reset?.();
  };

  const server = await startFakeHttp({
    port: settings.port,
    host: settings.host,
    contentType: vendor.contentType,
    crashBody: (message) => vendor.failure(500, `Fake ${vendor.name} error: ${message}`).body,
    serve,
    // What a person following a README reads with curl; `secrets` are redacted from every answer.
    control: {
      views: {
        ...vendor.views,
        [ledgerPath]: (query) => storedRecords(query.get(filterBy) ?? undefined),
        '/_fake/requests': () => requests().map((entry) => vendor.redact(entry)),
      },
      queueFaults: (input) => {
        const parsed = vendor.parseFaults(input);
        faults.script(parsed);
        return parsed.length;
      },
      reset,
      secrets: vendor.secrets,
    },
  });

  return {
    url: server.url,
    stored: storedRecords,
    requests,
    inject: (...injected) => faults.script(vendor.parseFaults(injected)),
    faults,
    reset,
    close: () => server.close(),
  };
}
