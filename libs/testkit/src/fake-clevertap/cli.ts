import { parseArgs } from 'node:util';
import { integerFlag, parseArgsMessage, runFakeUntilStopped, secretPairsFlag, type CliArgs, type CliOutput } from '../fake-http/cli';
import { startFakeCleverTap, type FakeCleverTapOptions, type LoggedRequest } from './server';

export type { CliOutput };

export const FAKE_CLEVERTAP_USAGE =
  'usage: fake-clevertap --account ACCOUNT_ID:PASSCODE [--account …] [--port 9999] [--latency-ms N] [--max-concurrent N]';
const DEFAULT_PORT = 9999;

/** Reads the command line. Messages name the flag and never repeat a value that may hold a passcode. */
export function parseFakeCleverTapArgs(argv: readonly string[]): CliArgs<FakeCleverTapOptions> {
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
      accounts: secretPairsFlag('--account', 'ACCOUNT_ID:PASSCODE', values.account ?? []),
      latencyMs: integerFlag('--latency-ms', values['latency-ms'], 0),
      maxConcurrent: integerFlag('--max-concurrent', values['max-concurrent'], 1),
    };
    return { kind: 'run', options };
  } catch (error) {
    return { kind: 'error', message: parseArgsMessage(error) };
  }
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
  return runFakeUntilStopped(
    { command: 'fake-clevertap', name: 'fake CleverTap', usage: FAKE_CLEVERTAP_USAGE },
    parseFakeCleverTapArgs(argv),
    (options) => startFakeCleverTap({ ...options, onRequest: (request) => output.out(describeRequest(request)) }),
    output,
    signals,
  );
}
