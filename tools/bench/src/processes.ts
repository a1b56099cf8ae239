import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/** The runner's process entry, as `npm start` runs it (the bench build builds it first). */
export const RUNNER_MAIN = path.resolve(__dirname, '../../../apps/runner/dist/main.js');
/** The bare `node:http` server the runner is compared with. */
export const BARE_SERVER = path.resolve(__dirname, 'bare-server.js');

export type LogLine = Record<string, unknown>;

export interface ServiceOptions {
  readonly args?: readonly string[];
  /** Node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  readonly cwd: string;
  /** Every stdout and stderr line goes here too, for reading after a run. */
  readonly logFile: string;
  readonly startTimeoutMs?: number;
}

const KEPT_LINES = 10_000;
/** pino's level number for `error`. */
const PINO_ERROR = 50;
const STOP_TIMEOUT_MS = 60_000;

/**
 * A Node service in its own process (so its CPU and memory are its own) that announces its base URL in a
 * JSON line on stdout, as the runner's "listening" log line does.
 */
export class ServiceProcess {
  /** Every service still running, so an interrupted or failed run leaves none behind. */
  private static readonly running = new Set<ServiceProcess>();
  private readonly lines: LogLine[] = [];
  private readonly waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private errorLines = 0;
  private firstError: LogLine | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly log: WriteStream,
    readonly name: string,
    /** Where its output is kept. */
    readonly logFile: string,
  ) {
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const text of complete) this.take(text);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      this.stderr = (this.stderr + chunk).slice(-4_000);
    });
    // 'close', not 'exit': output may still arrive between the two.
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    ServiceProcess.running.add(this);
    void this.exited.then(() => ServiceProcess.running.delete(this));
  }

  /** SIGKILLs every service still running (after a failure or an interrupt). */
  static async killAll(): Promise<void> {
    await Promise.all([...ServiceProcess.running].map((service) => service.kill()));
  }

  /** Starts `script` and resolves once it announced its URL; throws (with its stderr) when it exits or stays silent. */
  static async start(script: string, options: ServiceOptions): Promise<ServiceProcess & { readonly url: string }> {
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), script, ...(options.args ?? [])], {
      cwd: options.cwd,
      env: { ...process.env, FERRY_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(child, createWriteStream(options.logFile, { flags: 'a' }), path.basename(script), options.logFile);
    const announced = service.waitForLine((line) => typeof line.url === 'string', options.startTimeoutMs ?? 120_000, 'its URL');
    const url = await Promise.race([
      announced.then((line) => String(line.url)),
      service.exited.then(({ code, signal }) => {
        throw new Error(`${service.name} exited (${signal ?? code}) before listening: ${service.stderr.trim() || 'no stderr'}`);
      }),
    ]);
    return Object.assign(service, { url });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves with the first line (seen already or to come) that matches; rejects after `timeoutMs`. */
  waitForLine(match: (line: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name} did not log ${what} within ${timeoutMs} ms (stderr: ${this.stderr.trim() || 'none'})`));
      }, timeoutMs);
      timer.unref(); // a service that exited early must not hold the bench open until the timeout
      this.waiters.add(waiter);
    });
  }

  /** Throws when the service logged an error: figures measured beside a failure mean nothing. */
  assertNoErrors(): void {
    if (!this.firstError) return;
    throw new Error(
      `${this.name} logged ${this.errorLines} errors, the first: ${JSON.stringify(this.firstError).slice(0, 500)} (all in ${this.logFile})`,
    );
  }

  /** Resident memory now and at its peak, in MB (Linux /proc; null elsewhere). */
  memory(): { rssMb: number | null; peakRssMb: number | null } {
    const status = readProc(this.pid, 'status');
    const kb = (field: string) => {
      const value = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status ?? '')?.[1];
      return value === undefined ? null : Math.round(Number(value) / 1024);
    };
    return { rssMb: kb('VmRSS'), peakRssMb: kb('VmHWM') };
  }

  /** CPU seconds used so far, user and system (Linux /proc; null elsewhere). */
  cpuSeconds(): number | null {
    const stat = readProc(this.pid, 'stat');
    if (!stat) return null;
    // Fields after the command name, which may contain spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ, 100 on every Linux Node supports
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  }

  /** SIGTERM, then waits for a clean exit (which also writes a CPU profile); SIGKILL after a minute. */
  async stop(): Promise<void> {
    if (!this.alive) return this.closeLog();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    await this.closeLog();
    if (code !== 0) throw new Error(`${this.name} did not stop cleanly (${signal ?? code}): ${this.stderr.trim() || 'no stderr'}`);
  }

  /** SIGKILL: a crash, as far as the service can tell. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
    await this.closeLog();
  }

  private get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private take(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return; // not a JSON line
    }
    this.lines.push(line);
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    if (typeof line.level === 'number' && line.level >= PINO_ERROR) {
      this.errorLines += 1;
      this.firstError ??= line;
    }
    for (const waiter of this.waiters) {
      if (waiter.match(line)) {
        this.waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }

  private closeLog(): Promise<void> {
    if (this.log.writableEnded) return Promise.resolve();
    return new Promise((resolve) => this.log.end(resolve));
  }
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** A pino line's `time` (ISO, as the runner logs it) in epoch ms. */
export function logTime(line: LogLine): number {
  const time = line.time;
  const ms = typeof time === 'number' ? time : Date.parse(String(time));
  if (!Number.isFinite(ms)) throw new Error(`log line without a time: ${JSON.stringify(line).slice(0, 200)}`);
  return ms;
}
