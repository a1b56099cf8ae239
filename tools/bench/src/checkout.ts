import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * A library of another checkout (`--against`), as that checkout built it: its own code, so it reads and writes
 * the schema it knows. Refuses, naming what is missing, a checkout that has not been built.
 */
export function builtLibrary<T>(checkout: string, library: string): T {
  const folder = path.join(path.resolve(checkout), library);
  const dist = path.join(folder, 'dist');
  if (!existsSync(dist)) throw new Error(`--against ${checkout}: ${dist} is missing; build that checkout first`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(folder) as T;
}
