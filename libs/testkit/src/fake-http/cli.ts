/** What the fakes' command lines share: flags, output, and running until a stop signal. */

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

export type CliArgs<Options> = { kind: 'run'; options: Options } | { kind: 'help' } | { kind: 'error'; message: string };

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** An integer flag within bounds, or undefined when not given; the error names the flag, never the value. */
export function integerFlag(flag: string, raw: string | undefined, min: number, max?: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (value >= min && value <= (max ?? Number.MAX_SAFE_INTEGER)) return value;
  throw new Error(`${flag} must be an integer from ${min}${max === undefined ? ' up' : ` to ${max}`}`);
}

/** `NAME:SECRET` flags (repeatable) as name → secrets; the error names the flag and the form, never the value. */
export function secretPairsFlag(flag: string, form: string, pairs: readonly string[]): Record<string, string[]> {
  if (pairs.length === 0) throw new Error(`${flag} ${form} is required`);
  const byName: Record<string, string[]> = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon <= 0 || colon === pair.length - 1) throw new Error(`${flag} must look like ${form}`);
    (byName[pair.slice(0, colon)] ??= []).push(pair.slice(colon + 1));
  }
  return byName;
}

/** The message for a parseArgs error, never repeating a value that may hold a secret. */
export function parseArgsMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  return code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' ? 'unexpected argument without a flag before it' : message;
}

/**
 * Runs a fake from parsed flags until SIGINT or SIGTERM; resolves to the exit code (0 after a signal or --help,
 * 1 when it cannot listen, 2 for bad flags).
 */
export async function runFakeUntilStopped<Options>(
  fake: { readonly command: string; readonly name: string; readonly usage: string },
  args: CliArgs<Options>,
  start: (options: Options) => Promise<{ readonly url: string; close(): Promise<void> }>,
  output: CliOutput,
  signals: Pick<NodeJS.EventEmitter, 'once' | 'off'>,
): Promise<number> {
  if (args.kind === 'help') {
    output.out(fake.usage);
    return 0;
  }
  if (args.kind === 'error') {
    output.err(`${fake.command}: ${args.message}`);
    output.err(fake.usage);
    return 2;
  }
  // Listen for signals before anything else, so a stop request during start-up is not lost.
  const stop = nextStopSignal(signals);
  let running;
  try {
    running = await start(args.options);
  } catch (error) {
    stop.cancel();
    output.err(`${fake.command}: cannot start: ${(error as Error).message}`);
    return 1;
  }
  output.out(`${fake.name} listening on ${running.url}`);
  const signal = await stop.signal;
  await running.close();
  output.out(`${fake.name} stopped (${signal})`);
  return 0;
}

/** Resolves with the first stop signal received; `cancel` stops listening. */
function nextStopSignal(signals: Pick<NodeJS.EventEmitter, 'once' | 'off'>): { signal: Promise<string>; cancel(): void } {
  let resolve: (name: string) => void = () => {};
  const signal = new Promise<string>((settle) => (resolve = settle));
  const handlers = STOP_SIGNALS.map((name) => [name, () => (cancel(), resolve(name))] as const);
  const cancel = () => {
    for (const [name, handler] of handlers) signals.off(name, handler);
  };
  for (const [name, handler] of handlers) signals.once(name, handler);
  return { signal, cancel };
}
