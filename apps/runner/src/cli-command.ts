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
  /** The admin service without a store: enough to preview webhooks and check connections (these open none). */
  storeless(): AdminService;
  admin(): Promise<AdminService>;
}

export interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly options?: Options;
  /** The placeholders of its arguments, in order; one in brackets (`[ID]`) may be left out. */
  readonly positionals?: readonly string[];
  /** The admin route it calls, if any: help names it. */
  readonly route?: AnyRoute;
  /**
   * The config sections the command reads: only their `${VAR}`s are resolved (a cron backup needs no
   * CleverTap passcode), the others are left out and their defaults stand in. Absent: the whole config. A
   * function decides by the flags given (`erase --destinations` reads the destinations, `erase` alone does not).
   */
  readonly uses?: readonly ConfigSection[] | ((values: Values) => readonly ConfigSection[]);
  run(context: Context): Promise<number | void>;
}

export type ConfigSection = keyof RunnerConfig;

/** Every top-level section of the config (the compiler checks that the list is complete). */
export const CONFIG_SECTIONS: readonly string[] = Object.keys({
  server: true,
  store: true,
  sources: true,
  destinations: true,
  delivery: true,
  alerts: true,
  retention: true,
  log: true,
} satisfies Record<ConfigSection, true>);

export const STORE: readonly ConfigSection[] = ['store'];
/**
 * delivery comes with destinations: the lease is checked against their request timeouts; and sources: a
 * route names them, and a webhook is parsed by the source it comes through.
 */
export const DESTINATIONS: readonly ConfigSection[] = ['sources', 'destinations', 'delivery'];
export const STORE_AND_DESTINATIONS: readonly ConfigSection[] = [...STORE, ...DESTINATIONS];

export const CONFIG_OPTION: Options = { config: { type: 'string' } };
export const JSON_OPTION: Options = { json: { type: 'boolean' } };

export const printJson = (context: Context, value: unknown) => context.out(`${JSON.stringify(value, null, 2)}\n`);
