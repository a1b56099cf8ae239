import { parseArgs } from 'node:util';
import { integerFlag, parseArgsMessage, runFakeUntilStopped, secretPairsFlag, type CliArgs, type CliOutput } from '../fake-http/cli';
import { startFakeBraze, type BrazeLoggedRequest, type FakeBrazeOptions } from './server';

export const FAKE_BRAZE_USAGE = 'usage: fake-braze --workspace NAME:REST_API_KEY [--workspace …] [--port 9998] [--latency-ms N]';
const DEFAULT_PORT = 9998;

/** Reads the command line. Messages name the flag and never repeat a value that may hold an API key. */
export function parseFakeBrazeArgs(argv: readonly string[]): CliArgs<FakeBrazeOptions> {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        workspace: { type: 'string', multiple: true },
        'latency-ms': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) return { kind: 'help' };
    return {
      kind: 'run',
      options: {
        port: integerFlag('--port', values.port, 0, 65535) ?? DEFAULT_PORT,
        workspaces: secretPairsFlag('--workspace', 'NAME:REST_API_KEY', values.workspace ?? []),
        latencyMs: integerFlag('--latency-ms', values['latency-ms'], 0),
      },
    };
  } catch (error) {
    return { kind: 'error', message: parseArgsMessage(error) };
  }
}

/** One log line per request; headers (and so the API key) are never printed. */
export function describeBrazeRequest(request: BrazeLoggedRequest): string {
  const objects = request.objects === undefined ? '' : ` objects=${request.objects}`;
  return (
    `${new Date(request.receivedAt).toISOString()} ${request.method} ${request.path} workspace=${request.workspace ?? '-'}${objects}` +
    ` → ${request.status ?? 'no answer'}${request.fault ? ` (fault ${request.fault})` : ''}`
  );
}

/** Runs the fake Braze from command-line flags until SIGINT or SIGTERM; resolves to the exit code. */
export async function runFakeBrazeCli(
  argv: readonly string[],
  output: CliOutput,
  signals: Pick<NodeJS.EventEmitter, 'once' | 'off'> = process,
): Promise<number> {
  return runFakeUntilStopped(
    { command: 'fake-braze', name: 'fake Braze', usage: FAKE_BRAZE_USAGE },
    parseFakeBrazeArgs(argv),
    (options) => startFakeBraze({ ...options, onRequest: (request) => output.out(describeBrazeRequest(request)) }),
    output,
    signals,
  );
}
