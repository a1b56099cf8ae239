import autocannon from 'autocannon';
import { BENCH_AUTHORIZATION, webhookText } from './payload';
import { cpuMicrosSince, round, summarize, type LatencySummary } from './stats';

export interface WebhookLoad {
  /** Base URL of the server under load. */
  readonly url: string;
  readonly connections: number;
  readonly durationS: number;
  /** A short unmeasured run first, so the server is warm (JIT, caches). */
  readonly warmupS?: number;
  /** Requests per second over all connections (autocannon `overallRate`); unset: as fast as answers come. */
  readonly overallRate?: number;
  /** Event ids are `${idPrefix}-${n}`; unique per run, so every webhook is a new event. */
  readonly idPrefix: string;
  /** Called with each accepted event id and when its 200 arrived (epoch ms). */
  readonly onAccepted?: (eventId: string, atMs: number) => void;
  /** Called with every answer: its status, when it arrived (epoch ms) and how long it took (ms). */
  readonly onAnswer?: (status: number, atMs: number, latencyMs: number) => void;
  /** Ends the load before `durationS` once aborted. */
  readonly signal?: AbortSignal;
}

export interface LoadFigures extends LatencySummary {
  readonly connections: number;
  readonly overallRate: number | null;
  readonly durationS: number;
  /** Webhooks answered 200. */
  readonly accepted: number;
  /** Other statuses, connection errors and timeouts. */
  readonly failed: number;
  /** Accepted webhooks per second. */
  readonly perSecond: number;
  /** CPU the load generator used, in % of one core: near 100 means it, not the server, may be the limit. */
  readonly loadGeneratorCpuPercent: number;
}

/**
 * POSTs fresh RENEWAL webhooks to `/webhooks/revenuecat` with autocannon. Latency percentiles come from
 * every 200's response time (autocannon's own histogram rounds to whole ms and, under `overallRate`,
 * back-fills samples as if every 1 ms were a missed send).
 */
export async function postWebhooks(load: WebhookLoad): Promise<LoadFigures> {
  const text = webhookText();
  let sequence = 0;
  const request: autocannon.Request = {
    method: 'POST',
    path: '/webhooks/revenuecat',
    headers: { 'content-type': 'application/json', authorization: BENCH_AUTHORIZATION },
    setupRequest: (current) => ({ ...current, body: text(`${load.idPrefix}-${++sequence}`) }),
  };
  const onAccepted = load.onAccepted;
  if (onAccepted) {
    request.onResponse = (status, body) => {
      if (status === 200) onAccepted((JSON.parse(body) as { id: string }).id, Date.now());
    };
  }

  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const instance = autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationS,
    overallRate: load.overallRate,
    timeout: 30,
    warmup: load.warmupS ? { connections: load.connections, duration: load.warmupS } : undefined,
    requests: [request],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode === 200) latencies.push(responseTimeMs);
    load.onAnswer?.(statusCode, Date.now(), responseTimeMs);
  });
  if (load.signal?.aborted) instance.stop();
  else load.signal?.addEventListener('abort', () => instance.stop(), { once: true });
  const result = await instance;
  const cpuMicros = cpuMicrosSince(cpuBefore);
  const wallMs = performance.now() - startedAt;

  const accepted = result.statusCodeStats['200']?.count ?? 0;
  return {
    connections: load.connections,
    overallRate: load.overallRate ?? null,
    durationS: round(result.duration),
    accepted,
    failed: result.non2xx + result['2xx'] - accepted + result.errors,
    perSecond: Math.round(accepted / result.duration),
    ...summarize(latencies),
    loadGeneratorCpuPercent: Math.round((cpuMicros / 1000 / wallMs) * 100),
  };
}
