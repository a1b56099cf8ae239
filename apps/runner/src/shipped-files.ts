import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a file that ships beside the runner's code lives. In the package (tools/package) it sits next to
 * the bundled main.js; in the repository it sits at a fixed place relative to apps/runner/dist or src.
 * The package location is tried first so an unpacked package never reaches into a clone around it.
 */
function shippedFile(inPackage: string, inRepository: string): string {
  const packaged = path.join(__dirname, inPackage);
  return existsSync(packaged) ? packaged : path.resolve(__dirname, inRepository);
}

/** The documented example config, used when no config file exists. */
export const EXAMPLE_CONFIG_PATH = shippedFile('ferry.config.example.json', '../../../ferry.config.example.json');

/** The operator console's build output. */
export const CONSOLE_DIR = shippedFile('console', '../../console/dist');
