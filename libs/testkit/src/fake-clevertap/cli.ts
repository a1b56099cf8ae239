import { parseArgs } from 'node:util';
import { startFakeCleverTap, type FakeCleverTapOptions, type LoggedRequest } from './server';

export const FAKE_CLEVERTAP_USAGE =
  'usage: fake-clevertap --account ACCOUNT_ID:PASSCODE [--account …] [--port 9999] [--latency-ms N] [--max-concurrent N]';
const DEFAULT_PORT = 9999;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

type CliArgs = { kind: 'run'; options: FakeCleverTapOptions } | { kind: 'help' } | { kind: 'error'; message: string };

/** Reads the command line. Messages name the flag and never repeat a value that may hold a passcode. */
export function parseFakeCleverTapArgs(argv: readonly string[]): CliArgs {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        account: { type: 'string', multiple: true },
        'latency-ms': { type: 'string' },
        'max-concurrent': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) return { kind: 'help' };
    const options: FakeCleverTapOptions = {
      port: integerFlag('--port', values.port, 0, 65535) ?? DEFAULT_PORT,
      accounts: accountsFlag(values.account ?? []),
      latencyMs: integerFlag('--latency-ms', values['latency-ms'], 0),
      maxConcurrent: integerFlag('--max-concurrent', values['max-concurrent'], 1),
    };
    return { kind: 'run', options };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return { kind: 'error', message: 'unexpected argument without a flag before it' };
    return { kind: 'error', message };
  }
}

function integerFlag(flag: string, raw: string | undefined, min: number, max?: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (value >= min && value <= (max ?? Number.MAX_SAFE_INTEGER)) return value;
  throw new Error(`${flag} must be an integer from ${min}${max === undefined ? ' up' : ` to ${max}`}`);
}

function accountsFlag(pairs: readonly string[]): Record<string, string[]> {
  if (pairs.length === 0) throw new Error('--account ACCOUNT_ID:PASSCODE is required');
  const accounts: Record<string, string[]> = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon <= 0 || colon === pair.length - 1) throw new Error('--account must look like ACCOUNT_ID:PASSCODE');
    (accounts[pair.slice(0, colon)] ??= []).push(pair.slice(colon + 1));
  }
  return accounts;
}

/** One log line per request; headers (and so the passcode) are never printed. */
export function describeRequest(request: LoggedRequest): string {
  const body = request.body as { d?: unknown } | undefined;
  const records = Array.isArray(body?.d) ? ` records=${body.d.length}` : '';
  const account = request.headers['x-clevertap-account-id'] ?? '-';
  const extras = [request.dryRun && 'dry run', request.fault && `fault ${request.fault}`].filter(Boolean);
  return (
    `${new Date(request.receivedAt).toISOString()} ${request.method} ${request.path} account=${account}${records}` +
    ` → ${request.status ?? 'no answer'}${extras.length ? ` (${extras.join(', ')})` : ''}`
  );
}

/**
 * Runs the fake from command-line flags until SIGINT or SIGTERM; resolves to the exit code
 * (0 after a signal or --help, 1 when it cannot listen, 2 for bad flags).
 */
export async function runFakeCleverTapCli(
  argv: readonly string[],
  output: CliOutput,
  signals: Pick<NodeJS.EventEmitter, 'once' | 'off'> = process,
): Promise<number> {
  const args = parseFakeCleverTapArgs(argv);
  if (args.kind === 'help') {
    output.out(FAKE_CLEVERTAP_USAGE);
    return 0;
  }
  if (args.kind === 'error') {
    output.err(`fake-clevertap: ${args.message}`);
    output.err(FAKE_CLEVERTAP_USAGE);
    return 2;
  }
  // Listen for signals before anything else, so a stop request during start-up is not lost.
  const stop = nextStopSignal(signals);
  let fake;
  try {
    fake = await startFakeCleverTap({ ...args.options, onRequest: (request) => output.out(describeRequest(request)) });
  } catch (error) {
    stop.cancel();
    output.err(`fake-clevertap: cannot start: ${(error as Error).message}`);
    return 1;
  }
  output.out(`fake CleverTap listening on ${fake.url}`);
  const signal = await stop.signal;
  await fake.close();
  output.out(`fake CleverTap stopped (${signal})`);
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
