import { parseArgs } from 'node:util';
import { ConfigError, locateConfig, readConfigFile, type ConfigInput } from './config';
import { createRunner } from './runner';

const USAGE = `Usage: node apps/runner/dist/main.js [--config FILE]   (npm start -- --config FILE)

Starts the Ferry runner. The config is read from --config FILE, else $FERRY_CONFIG, else
./ferry.config.json; without any, the documented example starts on loopback only.`;

async function main(): Promise<void> {
  let flags: { config?: string; help?: boolean };
  try {
    flags = parseArgs({ options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (error) {
    process.stderr.write(`ferry: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const location = locateConfig(flags.config);
  const start = async () => createRunner(readConfigFile(location) as ConfigInput, { configSource: location });
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
  // Once each: a second signal falls back to the default and ends the process at once.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
