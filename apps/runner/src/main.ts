import './native-abi-check'; // first: before anything loads the compiled SQLite module
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, locateConfig, readConfigFile, type ConfigInput } from './config';
import { RUNNER_TOKENS } from './container';
import { prettyLogStream } from './logging';
import { createRunner } from './runner';
import type { ServiceContainer } from './service-container';

const USAGE = `Usage: node apps/runner/dist/main.js [--config FILE] [--pretty | --json]   (npm start -- --config FILE)

Starts the Ferry runner. The config is read from --config FILE, else $FERRY_CONFIG, else
./ferry.config.json; without any, the documented example starts on loopback only.
Logs are JSON lines, or readable lines (every field kept) with --pretty or when stdout is a terminal;
--json keeps JSON lines on a terminal.`;

async function main(): Promise<void> {
  let flags: { config?: string; help?: boolean; pretty?: boolean; json?: boolean };
  try {
    flags = parseArgs({
      options: {
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        pretty: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      strict: true,
    }).values;
    if (flags.pretty && flags.json) throw new Error('--pretty and --json exclude each other');
  } catch (error) {
    process.stderr.write(`ferry: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const location = locateConfig(flags.config);
  const pretty = flags.pretty ?? (!flags.json && process.stdout.isTTY === true);
  const configure = pretty
    ? (services: ServiceContainer) =>
        services.replaceValue(RUNNER_TOKENS.LogStream, prettyLogStream(pino.destination({ dest: 1, sync: true })))
    : undefined;
  const start = async () => createRunner(readConfigFile(location) as ConfigInput, { configSource: location, configure });
  const runner = await start().catch((error: Error) => {
    const detail = error instanceof ConfigError ? `invalid config ${location.path}:\n${error.message}` : error.message;
    process.stderr.write(`ferry: ${detail}\n`);
    process.exit(1);
  });

  const stop = () => {
    runner.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // Once each: the same signal again falls back to the default and ends the process at once. SIGHUP (a closed
  // terminal, or an operator expecting a reload) stops gracefully too: the config is read only at start.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, stop);
}

void main();
