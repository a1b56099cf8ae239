import { z } from 'zod';
import { flattenHeaders, JSON_CONTENT_TYPE } from '../fake-http/http';
import { FakeInputError, parseOneOrMany } from '../fake-http/input';
import { startFakeHttp } from '../fake-http/server';
import { verifyStandardWebhook, type Verification } from './verify';

/** One request the receiver got, as it arrived, with the verdict of the signature check and the status it answered. */
export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as raw text, as signed. */
  readonly body: string;
  readonly verification: Verification;
  readonly status: number;
}

export interface WebhookReceiverOptions {
  /** The secrets it trusts; a request none of them signed is still recorded, and answered 401. */
  readonly secrets: readonly string[];
  /** Its clock for the timestamp check; the real one by default. */
  readonly now?: () => number;
  readonly toleranceSeconds?: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Every request so far, in order of arrival. */
  received(): readonly ReceivedWebhook[];
  /** Answers the next requests with these statuses, in order, then goes back to the default. */
  answerNext(...statuses: number[]): void;
  /** The status of every request not scripted by `answerNext` (204 to begin with). */
  answerByDefault(status: number): void;
  close(): Promise<void>;
}

const scriptedStatus = z.object({ status: z.number().int().min(200).max(599) }).strict();

/**
 * A recording receiver for tests and demos: it checks each request's Standard Webhooks signature, records it, and
 * answers a scripted status (a forged or stale request gets 401, as a real receiver would answer it). Its control
 * API: `GET /_fake/requests`, `POST /_fake/faults` with `{"status": 410}` (or a list), `POST /_fake/reset`.
 */
export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const now = options.now ?? Date.now;
  const log: ReceivedWebhook[] = [];
  const script: number[] = [];
  let defaultStatus = 204;
  const server = await startFakeHttp({
    contentType: JSON_CONTENT_TYPE,
    crashBody: (message) => JSON.stringify({ error: message }),
    async serve({ req, res, url, body }) {
      const headers = flattenHeaders(req);
      const text = body.toString('utf8');
      const verification = verifyStandardWebhook({ headers, body: text }, { ...options, nowMs: now() });
      const status = verification.ok ? (script.shift() ?? defaultStatus) : 401;
      log.push({ path: url.pathname + url.search, headers, body: text, verification, status });
      res.writeHead(status, { 'content-type': JSON_CONTENT_TYPE });
      res.end(status === 204 ? undefined : JSON.stringify(verification.ok ? { status } : { error: verification.reason }));
    },
    control: {
      views: { '/_fake/requests': () => log },
      queueFaults(input) {
        const statuses = parseOneOrMany(scriptedStatus, input, (issues) => new FakeInputError('status', issues));
        script.push(...statuses.map((scripted) => scripted.status));
        return statuses.length;
      },
      reset() {
        log.length = 0;
        script.length = 0;
        defaultStatus = 204;
      },
      secrets: options.secrets,
    },
  });
  return {
    url: server.url,
    received: () => [...log],
    answerNext: (...statuses) => void script.push(...statuses),
    answerByDefault: (status) => void (defaultStatus = status),
    close: () => server.close(),
  };
}
