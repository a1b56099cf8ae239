import type { ParseArgsConfig } from 'node:util';
import type { AdminService } from './admin';
import type { AnyRoute } from './admin/route';
import type { ConfigLocation, RunnerConfig } from './config';

/** What a command of the `ferry` command line is, and what it is given to run. */

/** Where the command line reads and writes; tests pass their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly readStdin: () => Promise<string>;
}

/** A mistake in how the command was called: the message names it, the exit code is 2. */
export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Context {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly io: CliIo;
  /** Writes to stdout with every configured secret redacted. */
  out(text: string): void;
  config(): RunnerConfig;
  location(): ConfigLocation;
  admin(): Promise<AdminService>;
}

export interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly options?: Options;
  readonly positionals?: readonly string[];
  /** The admin route it calls, if any: help names it. */
  readonly route?: AnyRoute;
  run(context: Context): Promise<number | void>;
}

export const CONFIG_OPTION: Options = { config: { type: 'string' } };
export const JSON_OPTION: Options = { json: { type: 'boolean' } };

export const printJson = (context: Context, value: unknown) => context.out(`${JSON.stringify(value, null, 2)}\n`);
