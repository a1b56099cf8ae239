import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { postWebhooks } from './load';
import { logTime } from './processes';
import { startRunner } from './runner-config';
import { round, summarize, type LatencySummary } from './stats';
import { fillStore } from './store-fill';

/** The user whose events the scenario erases. */
const ERASED_USER = 'bench-erased-user';
/** Webhooks per second while erasure and retention run: the steady row's rate. */
const RATE = 1_000;
const CONNECTIONS = 16;
/** Answers in the first second are left out: the runner is still cold then. */
const COLD_MS = 1_000;
const DAY_MS = 86_400_000;
/** Longest a retention round or an erase may take before the scenario gives up. */
const PHASE_DEADLINE_MS = 15 * 60_000;

export interface EraseUnderLoadSizes {
  /** Events of the erased user, each between events of another user (so they are spread over the file). */
  readonly erasedEvents: number;
  /** Final events old enough for retention, removed by the runner's first round. */
  readonly expiredEvents: number;
  /** Seconds of load with neither running: the baseline. */
  readonly baselineSeconds: number;
}

export interface PhaseFigures extends LatencySummary {
  /** Answers other than 200 sent in the phase. */
  readonly failed: number;
  readonly seconds: number;
}

export interface EraseUnderLoadFigures {
  readonly store: string;
  readonly rate: number;
  readonly baseline: PhaseFigures;
  readonly retention: PhaseFigures & { readonly removed: number };
  readonly erase: PhaseFigures & { readonly erased: number };
}

interface Answer {
  readonly sentAtMs: number;
  readonly status: number;
  readonly latencyMs: number;
}

/**
 * Webhook latency at a steady rate while the runner's retention removes `expiredEvents` and then while an
 * erase removes a user's `erasedEvents`, each beside the same load with neither running, in one runner:
 * the runner starts with retention due (its first round runs at once), then the load waits for the round's
 * end, measures a baseline, posts the erase and measures until it answers. An answer counts in the phase
 * its request was sent in.
 */
export async function eraseUnderLoad(
  workDir: string,
  storeUrl: string,
  storeName: string,
  destinationUrl: string,
  sizes: EraseUnderLoadSizes,
  progress: (message: string) => void,
): Promise<EraseUnderLoadFigures> {
  progress(`${storeName} erase-under-load: filling ${sizes.erasedEvents} events to erase among as many others`);
  await fillStore(storeUrl, {
    count: 2 * sizes.erasedEvents,
    idPrefix: 'history',
    state: 'skipped',
    reason: 'bench: historic event',
    spreadUser: { userId: ERASED_USER, every: 2 },
  });
  progress(`${storeName} erase-under-load: filling ${sizes.expiredEvents} events due for retention`);
  await fillStore(storeUrl, {
    count: sizes.expiredEvents,
    idPrefix: 'expired',
    state: 'skipped',
    reason: 'bench: expired event',
    receivedAtMs: Date.now() - 2 * DAY_MS,
  });

  const adminToken = randomBytes(24).toString('base64url');
  const runner = await startRunner(workDir, `${storeName}-erase-under-load`, {
    storeUrl,
    destination: destinationUrl,
    adminToken,
    retention: { days: 1, deadDays: 1 },
  });
  const answers: Answer[] = [];
  let result: EraseUnderLoadFigures;
  const stopLoad = new AbortController();
  try {
    const loadStartMs = Date.now();
    const load = postWebhooks({
      url: runner.url,
      connections: CONNECTIONS,
      durationS: PHASE_DEADLINE_MS / 1000,
      overallRate: RATE,
      idPrefix: 'erase-under-load',
      signal: stopLoad.signal,
      onAnswer: (status, atMs, latencyMs) => answers.push({ sentAtMs: atMs - latencyMs, status, latencyMs }),
    });
    const pruned = await runner.waitForLine(
      (line) => line.msg === 'retention removed old events',
      PHASE_DEADLINE_MS,
      'the end of its first retention round',
    );
    const retention = { fromMs: loadStartMs + COLD_MS, toMs: logTime(pruned), removed: Number(pruned.removed) };
    if (retention.toMs <= retention.fromMs) progress(`${storeName}: retention ended before the load was warm: raise expiredEvents`);
    await sleep(1_000);
    const baseline = { fromMs: Date.now(), toMs: Date.now() + sizes.baselineSeconds * 1000 };
    await sleep(sizes.baselineSeconds * 1000);

    const eraseFromMs = Date.now();
    const answer = await request(`${runner.url}/admin/erase`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ appUserId: ERASED_USER }),
      headersTimeout: PHASE_DEADLINE_MS,
      bodyTimeout: PHASE_DEADLINE_MS,
    });
    const text = await answer.body.text();
    if (answer.statusCode !== 200) throw new Error(`erase answered ${answer.statusCode}: ${text}`);
    const erase = { fromMs: eraseFromMs, toMs: Date.now(), erased: (JSON.parse(text) as { erased: number }).erased };
    stopLoad.abort();
    await load;

    const phase = (window: { fromMs: number; toMs: number }): PhaseFigures => {
      const sent = answers.filter((a) => a.sentAtMs >= window.fromMs && a.sentAtMs < window.toMs);
      return {
        ...summarize(sent.filter((a) => a.status === 200).map((a) => a.latencyMs)),
        failed: sent.filter((a) => a.status !== 200).length,
        seconds: round((window.toMs - window.fromMs) / 1000),
      };
    };
    const figures: EraseUnderLoadFigures = {
      store: storeName,
      rate: RATE,
      baseline: phase(baseline),
      retention: { ...phase(retention), removed: retention.removed },
      erase: { ...phase(erase), erased: erase.erased },
    };
    progress(
      `${storeName} erase-under-load: p99 ${figures.baseline.p99Ms} ms with neither, ${figures.retention.p99Ms} ms during retention, ${figures.erase.p99Ms} ms during the erase`,
    );
    result = figures;
  } finally {
    stopLoad.abort();
    await runner.stop();
  }
  // Figures measured beside a failure mean nothing.
  runner.assertNoErrors();
  return result;
}

/** The three phases side by side, as a small Markdown table. */
export function renderEraseUnderLoad(figures: EraseUnderLoadFigures): string {
  const ms = (value: number | null) => (value === null ? '–' : `${value} ms`);
  const row = (name: string, phase: PhaseFigures) =>
    `| ${name} | ${phase.seconds} s | ${phase.count} | ${phase.failed} | ${ms(phase.p50Ms)} | ${ms(phase.p99Ms)} | ${ms(phase.maxMs)} |`;
  return [
    `Webhook latency on ${figures.store} at ${figures.rate}/s, beside retention and erasure in the same runner:`,
    '',
    '| Phase | Length | Webhooks | Not 200 | p50 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('neither running (baseline)', figures.baseline),
    row(`retention removing ${figures.retention.removed} events`, figures.retention),
    row(`erase of ${figures.erase.erased} events`, figures.erase),
  ].join('\n');
}
