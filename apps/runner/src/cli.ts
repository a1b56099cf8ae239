import path from 'node:path';
import { parseArgs } from 'node:util';
import { TOKENS, type Store } from '@ferry/core';
import { backupSqliteStore } from '@ferry/store';
import { ConflictError, InputError, NotFoundError } from './admin';
import { ADMIN_COMMANDS, printConnectionChecks } from './cli-admin';
import {
  CONFIG_OPTION,
  CONFIG_SECTIONS,
  STORE,
  UsageError,
  type CliIo,
  type Command,
  type ConfigSection,
  type Context,
  type Values,
} from './cli-command';
import { ConfigError, configJsonSchema, configNotes, configWarnings, locateConfig, readConfigFile, type ConfigInput } from './config';
import { CLI_TOKENS, createCliContainer, RUNNER_TOKENS } from './container';
import { destinationPlugins, sourcePlugins } from './plugins';
import type { ServiceContainer } from './service-container';

export type { CliIo } from './cli-command';

const COMMANDS: Readonly<Record<string, Command>> = {
  help: {
    usage: 'help',
    summary: 'show this help',
    async run({ io }) {
      io.stdout(usage());
    },
  },
  'config check': {
    usage: 'config check [--config FILE] [--online]',
    summary:
      "validate the config: one line per problem, naming its path; warn of routes that can never match; --online: then check each destination's credentials (exits 1 when any is refused)",
    options: { ...CONFIG_OPTION, online: { type: 'boolean' } },
    async run(context) {
      const config = context.config();
      const named = (instances: readonly { id: string; plugin: { id: string } }[]) =>
        instances.map((instance) => `${instance.id} (${instance.plugin.id})`).join(', ') || 'none';
      context.out(
        `config OK: ${context.location().path}\nsources: ${named(config.sources)}\ndestinations: ${named(config.destinations)}\n`,
      );
      for (const warning of configWarnings(config)) context.out(`warning: ${warning.path}: ${warning.message}\n`);
      for (const note of configNotes(config, context.location())) context.out(`note: ${note}\n`);
      if (context.values.online) return printConnectionChecks(context);
    },
  },
  backup: {
    usage: 'backup [--config FILE] BACKUP_FILE',
    summary:
      'copy the SQLite store to a new BACKUP_FILE while runners keep running (one consistent snapshot); restore by pointing store.url at it',
    options: CONFIG_OPTION,
    positionals: ['BACKUP_FILE'],
    uses: STORE,
    async run(context) {
      const target = path.resolve(context.io.cwd, context.positionals[0]);
      const { bytes } = backupSqliteStore(context.config().store.url, target);
      context.out(`backed up the store to ${target} (${bytes} bytes)\n`);
    },
  },
  'config schema': {
    usage: 'config schema',
    summary: 'print the config\'s JSON Schema (for editors: "$schema" in ferry.config.json)',
    async run({ io }) {
      io.stdout(`${JSON.stringify(configJsonSchema({ destinations: destinationPlugins, sources: sourcePlugins }), null, 2)}\n`);
    },
  },
  ...ADMIN_COMMANDS,
};

function usage(): string {
  const lines = Object.values(COMMANDS).map(({ usage, summary, route }) => {
    const calls = route ? ` (${route.method} /admin${route.path})` : '';
    return `  ${usage}\n      ${summary}${calls}`;
  });
  return `Usage: npm run ferry -- <command>

Commands:
${lines.join('\n')}

The config comes from --config FILE, else $FERRY_CONFIG, else ./ferry.config.json, else the example.
TIME is ISO 8601 (2025-03-01T00:00:00Z) or milliseconds since the epoch.
`;
}

function findCommand(argv: readonly string[]): { name: string; command: Command; rest: readonly string[] } {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    if (argv.length >= words && COMMANDS[name]) return { name, command: COMMANDS[name], rest: argv.slice(words) };
  }
  if (argv.length === 0) throw new UsageError('no command given');
  const group = Object.keys(COMMANDS).filter((name) => name.startsWith(`${argv[0]} `));
  if (group.length > 0) throw new UsageError(`unknown command "${argv.slice(0, 2).join(' ')}"; try: ${group.join(', ')}`);
  throw new UsageError(`unknown command "${argv[0]}"`);
}

export interface CliOptions {
  /** Replaces bindings of the command's services before anything is built (tests offer a plugin so). */
  readonly configure?: (services: ServiceContainer) => void;
}

/** Runs one command; resolves to the process exit code (0 done, 1 failed, 2 called wrongly). */
export async function runCli(argv: readonly string[], io: CliIo = processIo(), options: CliOptions = {}): Promise<number> {
  let services: ServiceContainer | undefined;
  let store: Store | undefined;
  let redact = (text: string) => text;
  let configPath: string | undefined;
  try {
    const { name, command, rest } = findCommand(argv);
    const parsed = parseFlags(name, command, rest);
    const flag = parsed.values.config;
    const location = () => locateConfig(typeof flag === 'string' ? flag : undefined, io.env, io.cwd);
    // Built from the config file on first use; each command reads from it only what it needs.
    const loadServices = () => {
      if (!services) {
        configPath = location().path;
        const uses = typeof command.uses === 'function' ? command.uses(parsed.values) : command.uses;
        const loaded = createCliContainer(onlySections(readConfigFile(location()), uses) as ConfigInput, {
          env: io.env,
          stderr: io.stderr,
        });
        options.configure?.(loaded);
        redact = loaded.get(RUNNER_TOKENS.Redact);
        services = loaded;
      }
      return services;
    };
    const context: Context = {
      ...parsed,
      io,
      out: (text) => io.stdout(redact(text)),
      config: () => loadServices().get(RUNNER_TOKENS.Config),
      location,
      storeless: () => loadServices().get(CLI_TOKENS.Storeless),
      admin: async () => {
        const loaded = loadServices();
        store ??= await loaded.getAsync(TOKENS.Store);
        return loaded.getAsync(RUNNER_TOKENS.Admin);
      },
    };
    return (await command.run(context)) ?? 0;
  } catch (error) {
    return reportFailure(error, (text) => io.stderr(redact(text)), configPath);
  } finally {
    await store?.close();
    // Built only to be closed when no check ran: it opens no connection until it sends.
    await services?.get(TOKENS.Transport).close();
  }
}

/** The config file without the sections a command does not read; unknown keys stay, to be reported. */
function onlySections(input: unknown, uses: readonly ConfigSection[] | undefined): unknown {
  if (!uses || input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([key]) => !CONFIG_SECTIONS.includes(key) || uses.includes(key as ConfigSection)));
}

function parseFlags(name: string, command: Command, args: readonly string[]): { values: Values; positionals: string[] } {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: command.options ?? {}, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const flag = /'(--?[^' ]+)/.exec(message)?.[1];
    throw new UsageError(
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown flag ${flag} for "${name}"` : `${message.split('. ')[0]} (${name})`,
    );
  }
  // `[ID]` is optional; the others are needed.
  const expected = command.positionals ?? [];
  const needed = expected.filter((positional) => !positional.startsWith('['));
  const given = parsed.positionals.length;
  if (given < needed.length || given > expected.length) {
    throw new UsageError(
      expected.length === 0
        ? `"${name}" takes no argument, got "${parsed.positionals[0]}"`
        : `"${name}" ${needed.length === expected.length ? 'needs' : 'takes'} ${expected.join(' ')}${given > expected.length ? ` only, got "${parsed.positionals.join(' ')}"` : ''}`,
    );
  }
  return parsed;
}

/** Prints why the command failed; answers the exit code. */
function reportFailure(error: unknown, stderr: (text: string) => void, configPath: string | undefined): number {
  if (error instanceof UsageError) {
    stderr(`ferry: ${error.message}\nRun "npm run ferry -- help" for usage.\n`);
    return 2;
  }
  if (error instanceof InputError) {
    stderr(`ferry: ${error.message}:\n${error.issues.map((issue) => `  ${issue.path}: ${issue.message}`).join('\n')}\n`);
    return 2;
  }
  if (error instanceof NotFoundError || error instanceof ConflictError) {
    stderr(`ferry: ${error.message}\n`);
    return 1;
  }
  if (error instanceof ConfigError) {
    stderr(`ferry: invalid config ${configPath}:\n${error.message}\n`);
    return 1;
  }
  stderr(`ferry: ${(error as Error).message ?? error}\n`);
  return 1;
}

function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}
