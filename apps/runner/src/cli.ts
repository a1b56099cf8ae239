import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TOKENS, type Store } from '@ferry/core';
import { backupSqliteStore } from '@ferry/store';
import { ConflictError, InputError, type AdminService, type DestinationView } from './admin';
import {
  ConfigError,
  configJsonSchema,
  configNotes,
  locateConfig,
  readConfigFile,
  type ConfigInput,
  type ConfigLocation,
  type RunnerConfig,
} from './config';
import { CLI_TOKENS, createCliContainer, RUNNER_TOKENS } from './container';
import {
  formatDeliveries,
  formatDestinationState,
  formatDestinations,
  formatEvent,
  formatEvents,
  formatOrphans,
  formatPreview,
} from './cli-format';
import { destinationPlugins } from './plugins';
import type { StartedReplay } from './replay-jobs';
import type { ServiceContainer } from './service-container';

/** Where the command line reads and writes; tests pass their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly readStdin: () => Promise<string>;
}

/** A mistake in how the command was called: the message names it, the exit code is 2. */
class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Context {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly io: CliIo;
  /** Writes to stdout with every configured secret redacted. */
  out(text: string): void;
  config(): RunnerConfig;
  location(): ConfigLocation;
  /** Previews webhooks without a store. */
  previewer(): Pick<AdminService, 'preview'>;
  admin(): Promise<AdminService>;
}

interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly options?: Options;
  readonly positionals?: readonly string[];
  /**
   * The config sections the command reads: only their `${VAR}`s are resolved (a cron backup needs no
   * CleverTap passcode), the others are left out and their defaults stand in. Absent: the whole config.
   */
  readonly uses?: readonly ConfigSection[];
  run(context: Context): Promise<number | void>;
}

type ConfigSection = keyof RunnerConfig;

/** Every top-level section of the config (the compiler checks that the list is complete). */
const CONFIG_SECTIONS: readonly string[] = Object.keys({
  server: true,
  store: true,
  sources: true,
  destinations: true,
  delivery: true,
  alerts: true,
  retention: true,
  log: true,
} satisfies Record<ConfigSection, true>);

const STORE: readonly ConfigSection[] = ['store'];
/** delivery comes with destinations: the lease is checked against their request timeouts. */
const DESTINATIONS: readonly ConfigSection[] = ['destinations', 'delivery'];
const STORE_AND_DESTINATIONS: readonly ConfigSection[] = [...STORE, ...DESTINATIONS];

const CONFIG_OPTION: Options = { config: { type: 'string' } };
const JSON_OPTION: Options = { json: { type: 'boolean' } };
const LIST_OPTIONS: Options = {
  ...CONFIG_OPTION,
  ...JSON_OPTION,
  state: { type: 'string' },
  destination: { type: 'string' },
  user: { type: 'string' },
  type: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  before: { type: 'string' },
};
const LIST_FLAGS = '[--state S] [--destination ID] [--user U] [--type T] [--since TIME] [--until TIME] [--limit N] [--before ID] [--json]';

const printJson = (context: Context, value: unknown) => context.out(`${JSON.stringify(value, null, 2)}\n`);

/** The filters of a list command, named as the admin API's query parameters. */
function listQuery(values: Values): Record<string, unknown> {
  const { config: _config, json: _json, ...filters } = values;
  return filters;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  help: {
    usage: 'help',
    summary: 'show this help',
    async run({ io }) {
      io.stdout(usage());
    },
  },
  preview: {
    usage: 'preview [--config FILE] [--json] WEBHOOK.json   (- reads the webhook from stdin)',
    summary: 'print, per destination, the exact requests a webhook would cause (secrets redacted); sends and stores nothing',
    options: { ...CONFIG_OPTION, ...JSON_OPTION },
    positionals: ['WEBHOOK.json'],
    uses: DESTINATIONS,
    async run(context) {
      const file = context.positionals[0];
      const text = file === '-' ? await context.io.readStdin() : readWebhookFile(path.resolve(context.io.cwd, file));
      let webhook: unknown;
      try {
        webhook = JSON.parse(text);
      } catch (error) {
        context.io.stderr(`ferry: ${file} is not valid JSON: ${(error as Error).message}\n`);
        return 1;
      }
      if (context.location().example)
        context.io.stderr(`ferry: no config file given; previewing with the example ${context.location().path}\n`);
      const preview = context.previewer().preview(webhook);
      if (context.values.json) printJson(context, preview);
      else context.out(formatPreview(preview));
    },
  },
  'config check': {
    usage: 'config check [--config FILE]',
    summary: 'validate the config: one line per problem, naming its path',
    options: CONFIG_OPTION,
    async run(context) {
      const config = context.config();
      const destinations = config.destinations.map((destination) => `${destination.id} (${destination.plugin.id})`).join(', ');
      context.out(`config OK: ${context.location().path}\ndestinations: ${destinations || 'none'}\n`);
      for (const note of configNotes(config, context.location())) context.out(`note: ${note}\n`);
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
      io.stdout(`${JSON.stringify(configJsonSchema(destinationPlugins), null, 2)}\n`);
    },
  },
  'events list': {
    usage: `events list [--config FILE] ${LIST_FLAGS}`,
    summary: 'list events, newest first (--state/--destination match any of their deliveries)',
    options: LIST_OPTIONS,
    uses: STORE,
    async run(context) {
      const page = await (await context.admin()).listEvents(listQuery(context.values));
      if (context.values.json) printJson(context, { events: page.items, next: page.next });
      else context.out(formatEvents(page));
    },
  },
  'events show': {
    usage: 'events show [--config FILE] [--json] EVENT_ID',
    summary: 'show one event with every delivery and every attempt',
    options: { ...CONFIG_OPTION, ...JSON_OPTION },
    positionals: ['EVENT_ID'],
    uses: STORE_AND_DESTINATIONS,
    async run(context) {
      const id = context.positionals[0];
      const event = await (await context.admin()).event(id);
      if (!event) {
        context.io.stderr(`ferry: no event with id ${JSON.stringify(id)}\n`);
        return 1;
      }
      if (context.values.json) printJson(context, event);
      else context.out(formatEvent(event));
    },
  },
  'deliveries list': {
    usage: `deliveries list [--config FILE] ${LIST_FLAGS}`,
    summary: 'list deliveries, newest first',
    options: LIST_OPTIONS,
    uses: STORE,
    async run(context) {
      const page = await (await context.admin()).listDeliveries(listQuery(context.values));
      if (context.values.json) printJson(context, { deliveries: page.items, next: page.next });
      else context.out(formatDeliveries(page));
    },
  },
  destinations: {
    usage: 'destinations [--config FILE] [--json]',
    summary: 'each destination: state (paused and why), deliveries by state',
    options: { ...CONFIG_OPTION, ...JSON_OPTION },
    uses: STORE_AND_DESTINATIONS,
    async run(context) {
      const destinations = await (await context.admin()).destinations();
      if (context.values.json) printJson(context, { destinations });
      else context.out(formatDestinations(destinations));
    },
  },
  'destinations pause': {
    usage: 'destinations pause [--config FILE] [--json] [--reason TEXT] ID',
    summary: 'pause a destination for every runner until resumed; its deliveries wait as paused and never die',
    options: { ...CONFIG_OPTION, ...JSON_OPTION, reason: { type: 'string' } },
    positionals: ['ID'],
    uses: STORE_AND_DESTINATIONS,
    async run(context) {
      const id = context.positionals[0];
      const request = context.values.reason === undefined ? {} : { reason: context.values.reason };
      return printDestinationChange(context, id, await (await context.admin()).pauseDestination(id, request));
    },
  },
  'destinations resume': {
    usage: 'destinations resume [--config FILE] [--json] ID',
    summary: "end an operator's or a credentials pause for every runner; its paused deliveries fall due",
    options: { ...CONFIG_OPTION, ...JSON_OPTION },
    positionals: ['ID'],
    uses: STORE_AND_DESTINATIONS,
    async run(context) {
      const id = context.positionals[0];
      return printDestinationChange(context, id, await (await context.admin()).resumeDestination(id));
    },
  },
  replay: {
    usage:
      'replay [--config FILE] (--id DELIVERY_ID… | --event EVENT_ID… | --from TIME --to TIME) [--destination ID] [--state dead|skipped|delivered …]',
    summary: 'make dead or skipped deliveries pending again in short batches, printing progress (a running runner picks them up)',
    options: {
      ...CONFIG_OPTION,
      id: { type: 'string', multiple: true },
      event: { type: 'string', multiple: true },
      from: { type: 'string' },
      to: { type: 'string' },
      destination: { type: 'string' },
      state: { type: 'string', multiple: true },
    },
    uses: STORE,
    async run(context) {
      const { id, event, from, to, destination, state } = context.values;
      const request = { deliveryIds: id, eventIds: event, from, to, destination, states: state };
      const admin = await context.admin();
      let started: StartedReplay;
      try {
        started = admin.startReplay(Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined)), (count) =>
          context.io.stderr(`replayed ${count}…\n`),
        );
      } catch (error) {
        throw error instanceof InputError ? renameIssues(error, REPLAY_FLAGS) : error;
      }
      const job = await started.finished;
      if (job.state === 'failed') {
        context.io.stderr(`ferry: replay failed after ${job.replayed} replayed: ${job.error}\n`);
        return 1;
      }
      context.out(`replayed ${job.replayed} ${job.replayed === 1 ? 'delivery' : 'deliveries'}\n`);
    },
  },
  erase: {
    usage: 'erase [--config FILE] [--json] --user APP_USER_ID',
    summary: 'remove every event naming the user (app user id, original id, aliases, transfers) with its deliveries and attempts',
    options: { ...CONFIG_OPTION, ...JSON_OPTION, user: { type: 'string' } },
    uses: STORE,
    async run(context) {
      let result: { erased: number };
      try {
        result = await (await context.admin()).erase(context.values.user === undefined ? {} : { appUserId: context.values.user });
      } catch (error) {
        throw error instanceof InputError ? renameIssues(error, { appUserId: 'user' }) : error;
      }
      if (context.values.json) printJson(context, result);
      else context.out(`erased ${result.erased} ${result.erased === 1 ? 'event' : 'events'}\n`);
    },
  },
  orphans: {
    usage: 'orphans [--config FILE] [--json]',
    summary: 'destinations with deliveries in the store but no longer in the config, with counts by state',
    options: { ...CONFIG_OPTION, ...JSON_OPTION },
    uses: STORE_AND_DESTINATIONS,
    async run(context) {
      const orphans = await (await context.admin()).orphans();
      if (context.values.json) printJson(context, { orphans });
      else context.out(formatOrphans(orphans));
    },
  },
  'orphans drop': {
    usage: 'orphans drop [--config FILE] DESTINATION_ID',
    summary: "make a removed destination's waiting deliveries final: skipped with rule destination_removed, still listed",
    options: CONFIG_OPTION,
    positionals: ['DESTINATION_ID'],
    uses: STORE_AND_DESTINATIONS,
    async run(context) {
      const { dropped } = await (await context.admin()).dropOrphans(context.positionals[0]);
      context.out(`dropped ${dropped} ${dropped === 1 ? 'delivery' : 'deliveries'}\n`);
    },
  },
  'orphans reassign': {
    usage: 'orphans reassign [--config FILE] DESTINATION_ID --to CONFIGURED_ID',
    summary: "move a removed destination's waiting deliveries to a configured one (an event it already has keeps its own)",
    options: { ...CONFIG_OPTION, to: { type: 'string' } },
    positionals: ['DESTINATION_ID'],
    uses: STORE_AND_DESTINATIONS,
    async run(context) {
      const { reassigned, kept } = await (await context.admin()).reassignOrphans(context.positionals[0], { to: context.values.to });
      context.out(
        `reassigned ${reassigned} ${reassigned === 1 ? 'delivery' : 'deliveries'}` +
          (kept > 0 ? `; ${kept} left waiting (their event already has a delivery to ${String(context.values.to)}): drop them` : '') +
          '\n',
      );
    },
  },
};

/** The destination after a pause or resume, or why there is none; answers the exit code. */
function printDestinationChange(context: Context, id: string, destination: DestinationView | undefined): number {
  if (!destination) {
    context.io.stderr(`ferry: no destination with id ${JSON.stringify(id)}\n`);
    return 1;
  }
  if (context.values.json) printJson(context, { destination });
  else context.out(formatDestinationState(destination));
  return 0;
}

/** Replay request fields by the flag that sets them. */
const REPLAY_FLAGS: Readonly<Record<string, string>> = { deliveryIds: 'id', eventIds: 'event', states: 'state' };

function renameIssues(error: InputError, names: Readonly<Record<string, string>>): InputError {
  const rename = (issuePath: string) => issuePath.replace(/^[^.[]+/, (field) => names[field] ?? field);
  return new InputError(
    error.message,
    error.issues.map((issue) => ({ ...issue, path: rename(issue.path) })),
  );
}

/** The config file without the sections a command does not read; unknown keys stay, to be reported. */
function onlySections(input: unknown, uses: readonly ConfigSection[] | undefined): unknown {
  if (!uses || input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([key]) => !CONFIG_SECTIONS.includes(key) || uses.includes(key as ConfigSection)));
}

function readWebhookFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

function usage(): string {
  const lines = Object.values(COMMANDS).map((command) => `  ${command.usage}\n      ${command.summary}`);
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

/** Runs one command; resolves to the process exit code (0 done, 1 failed, 2 called wrongly). */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
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
        const loaded = createCliContainer(onlySections(readConfigFile(location()), command.uses) as ConfigInput, {
          env: io.env,
          stderr: io.stderr,
        });
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
      previewer: () => loadServices().get(CLI_TOKENS.Preview),
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
  }
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
  const expected = command.positionals ?? [];
  if (parsed.positionals.length !== expected.length) {
    throw new UsageError(
      expected.length === 0
        ? `"${name}" takes no argument, got "${parsed.positionals[0]}"`
        : `"${name}" needs ${expected.join(' ')}${parsed.positionals.length > expected.length ? ` only, got "${parsed.positionals.join(' ')}"` : ''}`,
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
  if (error instanceof ConflictError) {
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
