import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { summarize, type LatencySummary } from './stats';

/** About the WAL frames of a group commit of 64 webhooks (1.4 kB each, with their deliveries and index pages). */
const APPEND_BYTES = 64 * 1024;
const SYNCS = 200;

/**
 * How long this machine's disk takes to make an append durable: `SYNCS` appends of `APPEND_BYTES` to a file in
 * `dir`, each followed by an fdatasync, as SQLite's WAL is synced before a webhook is answered. No acknowledgement
 * can be faster than one of these, so the ingest p99 targets are read against it.
 */
export function diskSyncLatency(dir: string): LatencySummary & { readonly bytes: number } {
  const file = path.join(dir, 'disk-sync.probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(APPEND_BYTES, 1);
  const samples: number[] = [];
  try {
    for (let i = 0; i < SYNCS; i += 1) {
      writeSync(fd, block);
      const started = performance.now();
      fdatasyncSync(fd);
      samples.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return { ...summarize(samples), bytes: APPEND_BYTES };
}

/** One line for a report: the disk's fdatasync latency. */
export function describeDiskSync(sync: ReturnType<typeof diskSyncLatency>): string {
  return `This disk: fdatasync after a ${sync.bytes / 1024} kB append, p50 ${sync.p50Ms} ms, p99 ${sync.p99Ms} ms, max ${sync.maxMs} ms (${sync.count} runs); every acknowledged webhook waits for one.`;
}
