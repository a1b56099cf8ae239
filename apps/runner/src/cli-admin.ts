import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError, type AdminService, type AnswerOf, type RawInput } from './admin';
import { countReplay, listDeliveries, startReplay } from './admin/deliveries';
import { checkDestination, listDestinations, pauseDestination, resumeDestination } from './admin/destinations';
import { eraseUser, listErasures, retryErasure } from './admin/erasure';
import { listEvents, showEvent } from './admin/events';
import { dropOrphans, listOrphans, reassignOrphans } from './admin/orphans';
import { previewWebhook } from './admin/preview';
import { listSources } from './admin/sources';
import { showUser } from './admin/users';
import type { AnyRoute } from './admin/route';
import {
  CONFIG_OPTION,
  DESTINATIONS,
  JSON_OPTION,
  STORE,
  STORE_AND_DESTINATIONS,
  UsageError,
  printJson,
  type Command,
  type Context,
  type Options,
} from './cli-command';
import {
  formatConnectionChecks,
  formatDeliveries,
  formatDestinationState,
  formatDestinations,
  formatErasures,
  formatEvent,
  formatEvents,
  formatOrphans,
  formatPreview,
  formatRemoteErasures,
  formatSources,
  formatUser,
} from './cli-format';

/**
 * The commands that run admin routes: each names the route it calls, takes its flags from that route's
 * query or body schema, and prints the route's answer, as text or (`--json`) as the API answers it.
 */
interface RouteCommand<Route extends AnyRoute> {
  readonly usage: string;
  readonly summary: string;
  readonly route: Route;
  /** The route's path parameters, given as positionals in this order: parameter → placeholder. */
  readonly positionals?: Readonly<Record<string, string>>;
  /** Flags named otherwise than the query or body field they set: field → flag. */
  readonly flagNames?: Readonly<Record<string, string>>;
  /** The input, when flags and positionals do not give it (preview reads a webhook file). */
  readonly input?: (context: Context) => Promise<RawInput | number>;
  /** Runs without the store (preview, connection checks). */
  readonly storeless?: true;
  /** The config sections it reads (see `Command.uses`); absent: the whole config. */
  readonly uses?: Command['uses'];
  /** Waits for what the route only started (a replay's job), from its first answer. */
  readonly settle?: (answer: AnswerOf<Route>, admin: AdminService, context: Context) => Promise<AnswerOf<Route>>;
  /** Why the command failed despite the answer (a replay job that failed): exit code 1. */
  readonly failure?: (answer: AnswerOf<Route>) => string | undefined;
  text(answer: AnswerOf<Route>, input: RawInput): string;
}

/** A flag per field of an object schema: lists take the flag repeatedly, booleans take no value. */
function fieldsOf(schema: z.ZodType | undefined): { field: string; kind: 'text' | 'list' | 'switch' }[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input' }) as { $ref?: string; $defs?: Record<string, object> };
  const root = (json.$ref ? json.$defs?.[json.$ref.slice('#/$defs/'.length)] : json) as { properties?: Record<string, { type?: string }> };
  return Object.entries(root?.properties ?? {}).map(([field, property]) => ({
    field,
    kind: property.type === 'array' ? 'list' : property.type === 'boolean' ? 'switch' : 'text',
  }));
}

export function routeCommand<Route extends AnyRoute>(command: RouteCommand<Route>): Command {
  const { route } = command;
  // A GET takes its flags from its query; a POST from its body, and from its query when it has one (preview's source).
  const flagged: { where: 'query' | 'body'; field: string; kind: 'text' | 'list' | 'switch' }[] = [
    ...fieldsOf(route.query).map((field) => ({ ...field, where: 'query' as const })),
    ...(route.method === 'POST' ? fieldsOf(route.body).map((field) => ({ ...field, where: 'body' as const })) : []),
  ];
  const flagOf = (field: string) => command.flagNames?.[field] ?? field;
  const options: Options = { ...CONFIG_OPTION, ...JSON_OPTION };
  for (const { field, kind } of flagged) {
    options[flagOf(field)] = kind === 'switch' ? { type: 'boolean' } : { type: 'string', multiple: kind === 'list' };
  }
  return {
    usage: command.usage,
    summary: command.summary,
    options,
    positionals: Object.values(command.positionals ?? {}),
    route,
    uses: command.uses,
    async run(context) {
      const given = (where: 'query' | 'body') =>
        Object.fromEntries(
          flagged.flatMap(({ where: from, field }) => {
            const value = context.values[flagOf(field)];
            return from !== where || value === undefined ? [] : [[field, value] as const];
          }),
        );
      const params = Object.fromEntries(Object.keys(command.positionals ?? {}).map((name, index) => [name, context.positionals[index]]));
      const fromFlags: RawInput = { params, query: given('query'), ...(route.method === 'POST' ? { body: given('body') } : {}) };
      const input = command.input ? await command.input(context) : fromFlags;
      if (typeof input === 'number') return input;
      const admin = command.storeless ? context.storeless() : await context.admin();
      let answer: AnswerOf<Route>;
      try {
        answer = await admin.call(route, { ...fromFlags, ...input });
      } catch (error) {
        throw error instanceof InputError ? renameIssues(error, command.flagNames ?? {}) : error;
      }
      if (command.settle) answer = await command.settle(answer, admin, context);
      const failure = command.failure?.(answer);
      if (context.values.json) printJson(context, answer);
      else if (!failure) context.out(command.text(answer, input));
      if (failure) {
        context.io.stderr(`ferry: ${failure}\n`);
        return 1;
      }
    },
  };
}

/** Issue paths name the flag the operator typed, not the API's field. */
function renameIssues(error: InputError, names: Readonly<Record<string, string>>): InputError {
  const rename = (issuePath: string) => issuePath.replace(/^[^.[]+/, (field) => names[field] ?? field);
  return new InputError(
    error.message,
    error.issues.map((issue) => ({ ...issue, path: rename(issue.path) })),
  );
}

const LIST_FLAGS =
  '[--state S] [--destination ID] [--user U | --userPrefix P] [--product ID] [--kind K] [--type T] [--source ID] [--since TIME] [--until TIME] [--limit N] [--before ID] [--json]';
const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

const REPLAY_FLAG_NAMES = { deliveryIds: 'id', eventIds: 'event', states: 'state' };

/** `replay` itself: the replay, followed to its end. */
const replayCommand = routeCommand({
  usage:
    'replay [--config FILE] [--json] [--dry-run] (--id DELIVERY_ID… | --event EVENT_ID… | --from TIME --to TIME) [--destination ID] [--state dead|skipped|delivered …]',
  summary:
    'make dead or skipped deliveries pending again in short batches, printing progress (a running runner picks them up); ' +
    '--dry-run: print how many it would replay, changing nothing',
  route: startReplay,
  uses: STORE,
  flagNames: REPLAY_FLAG_NAMES,
  settle: async ({ job }, admin, context) => ({
    job: await admin.deliveries.follow(job.id, (count) => context.io.stderr(`replayed ${count}…\n`)),
  }),
  failure: ({ job }) => (job.state === 'failed' ? `replay failed after ${job.replayed} replayed: ${job.error}` : undefined),
  text: ({ job }) => `replayed ${plural(job.replayed, 'delivery', 'deliveries')}\n`,
});

/** `replay --dry-run`: the same flags, counted. */
const replayCountCommand = routeCommand({
  usage: replayCommand.usage,
  summary: replayCommand.summary,
  route: countReplay,
  uses: STORE,
  flagNames: REPLAY_FLAG_NAMES,
  text: ({ count }) => `would replay ${plural(count, 'delivery', 'deliveries')}\n`,
});

export const ADMIN_COMMANDS: Readonly<Record<string, Command>> = {
  preview: routeCommand({
    usage: 'preview [--config FILE] [--source ID] [--json] WEBHOOK.json   (- reads the webhook from stdin; --source: default the first)',
    summary: 'print, per destination, the exact requests a webhook would cause (secrets redacted); sends and stores nothing',
    route: previewWebhook,
    uses: DESTINATIONS,
    positionals: { webhook: 'WEBHOOK.json' },
    storeless: true,
    async input(context) {
      const file = context.positionals[0];
      const text = file === '-' ? await context.io.readStdin() : readWebhookFile(path.resolve(context.io.cwd, file));
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        context.io.stderr(`ferry: ${file} is not valid JSON: ${(error as Error).message}\n`);
        return 1;
      }
      if (context.location().example)
        context.io.stderr(`ferry: no config file given; previewing with the example ${context.location().path}\n`);
      return { body };
    },
    text: formatPreview,
  }),
  'events list': routeCommand({
    usage: `events list [--config FILE] ${LIST_FLAGS}`,
    summary: 'list events, newest first (--state/--destination match any of their deliveries)',
    route: listEvents,
    uses: STORE,
    text: formatEvents,
  }),
  'events show': routeCommand({
    usage: 'events show [--config FILE] [--json] EVENT_ID',
    summary: 'show one event with every delivery and every attempt',
    route: showEvent,
    uses: STORE_AND_DESTINATIONS,
    positionals: { id: 'EVENT_ID' },
    text: formatEvent,
  }),
  'deliveries list': routeCommand({
    usage: `deliveries list [--config FILE] ${LIST_FLAGS}`,
    summary: 'list deliveries, newest first',
    route: listDeliveries,
    uses: STORE,
    text: formatDeliveries,
  }),
  destinations: routeCommand({
    usage: 'destinations [--config FILE] [--json]',
    summary: 'each destination: state (paused and why), deliveries by state',
    route: listDestinations,
    uses: STORE_AND_DESTINATIONS,
    text: ({ destinations }) => formatDestinations(destinations),
  }),
  'destinations pause': routeCommand({
    usage: 'destinations pause [--config FILE] [--json] [--reason TEXT] ID',
    summary: 'pause a destination for every runner until resumed; its deliveries wait as paused and never die',
    route: pauseDestination,
    uses: STORE_AND_DESTINATIONS,
    positionals: { id: 'ID' },
    text: ({ destination }) => formatDestinationState(destination),
  }),
  'destinations resume': routeCommand({
    usage: 'destinations resume [--config FILE] [--json] ID',
    summary: "end an operator's or a credentials pause for every runner; its paused deliveries fall due",
    route: resumeDestination,
    uses: STORE_AND_DESTINATIONS,
    positionals: { id: 'ID' },
    text: ({ destination }) => formatDestinationState(destination),
  }),
  'destinations check': {
    usage: 'destinations check [--config FILE] [--json] [ID]',
    summary:
      "check a destination's credentials (each destination's without ID) with a request that changes nothing there; exits 1 when any is refused",
    options: { ...CONFIG_OPTION, ...JSON_OPTION },
    positionals: ['[ID]'],
    route: checkDestination,
    uses: DESTINATIONS,
    run: (context) => printConnectionChecks(context, context.positionals[0]),
  },
  replay: {
    ...replayCommand,
    options: { ...replayCommand.options, 'dry-run': { type: 'boolean' } },
    run: (context) => (context.values['dry-run'] ? replayCountCommand : replayCommand).run(context),
  },
  user: routeCommand({
    usage: 'user [--config FILE] [--json] APP_USER_ID',
    summary:
      "a customer's timeline: its events in time order with their deliveries and the subscription state after each, " +
      'then per destination the state its ordering guard let through',
    route: showUser,
    uses: STORE_AND_DESTINATIONS,
    positionals: { id: 'APP_USER_ID' },
    text: formatUser,
  }),
  erase: routeCommand({
    usage: 'erase [--config FILE] [--json] [--destinations] --user APP_USER_ID',
    summary:
      'remove every event naming the user (app user id, original id, aliases, transfers) with its deliveries and attempts; ' +
      '--destinations: also add a job per destination whose plugin can erase (a running runner sends them)',
    route: eraseUser,
    uses: (values) => (values.destinations ? STORE_AND_DESTINATIONS : STORE),
    flagNames: { appUserId: 'user' },
    text: ({ erased, remote }) => `erased ${plural(erased, 'event', 'events')}\n${remote ? formatRemoteErasures(remote) : ''}`,
  }),
  erasures: routeCommand({
    usage: 'erasures [--config FILE] [--json] [--state pending|done|dead] [--destination ID] [--limit N] [--before ID]',
    summary: "erasure jobs at the destinations, newest first: state, step, attempts, last answer, the user's ids masked",
    route: listErasures,
    uses: STORE_AND_DESTINATIONS,
    text: formatErasures,
  }),
  'erasures retry': routeCommand({
    usage: 'erasures retry [--config FILE] [--json] JOB_ID',
    summary: 'make a dead erasure job pending again (a running runner sends it)',
    route: retryErasure,
    uses: STORE_AND_DESTINATIONS,
    positionals: { id: 'JOB_ID' },
    text: ({ job }) => formatErasures({ jobs: [job] }),
  }),
  sources: routeCommand({
    usage: 'sources [--config FILE] [--json]',
    summary: 'each configured source: its plugin, its webhook path and how many of its events the store holds',
    route: listSources,
    uses: [...STORE, 'sources'],
    text: ({ sources }) => formatSources(sources),
  }),
  orphans: routeCommand({
    usage: 'orphans [--config FILE] [--json]',
    summary: 'destinations with deliveries in the store but no longer in the config, with counts by state',
    route: listOrphans,
    uses: STORE_AND_DESTINATIONS,
    text: ({ orphans }) => formatOrphans(orphans),
  }),
  'orphans drop': routeCommand({
    usage: 'orphans drop [--config FILE] [--json] DESTINATION_ID',
    summary: "make a removed destination's waiting deliveries final: skipped with rule destination_removed, still listed",
    route: dropOrphans,
    uses: STORE_AND_DESTINATIONS,
    positionals: { destinationId: 'DESTINATION_ID' },
    text: ({ dropped }) => `dropped ${plural(dropped, 'delivery', 'deliveries')}\n`,
  }),
  'orphans reassign': routeCommand({
    usage: 'orphans reassign [--config FILE] [--json] DESTINATION_ID --to CONFIGURED_ID',
    summary: "move a removed destination's waiting deliveries to a configured one (an event it already has keeps its own)",
    route: reassignOrphans,
    uses: STORE_AND_DESTINATIONS,
    positionals: { destinationId: 'DESTINATION_ID' },
    text: ({ reassigned, kept }, input) =>
      `reassigned ${plural(reassigned, 'delivery', 'deliveries')}` +
      (kept > 0
        ? `; ${kept} left waiting (their event already has a delivery to ${String((input.body as { to?: string }).to)}): drop them`
        : '') +
      '\n',
  }),
};

/**
 * Checks the connection of the destination `only`, or of every configured one, from this process, with no
 * runner needed, and prints the verdicts; answers 1 when any destination refused, else 0.
 */
export async function printConnectionChecks(context: Context, only?: string): Promise<number> {
  const admin = context.storeless();
  const checking = only !== undefined ? [only] : context.config().destinations.map((destination) => destination.id);
  const answers = await Promise.all(checking.map((id) => admin.call(checkDestination, { params: { id } })));
  const checked = answers.map((answer, index) => ({ id: checking[index], ...answer }));
  // One destination named: the route's answer, as the API gives it; otherwise each with its id.
  if (context.values.json) printJson(context, only !== undefined ? answers[0] : { destinations: checked });
  else context.out(formatConnectionChecks(checked));
  const refused = checked.filter((check) => check.ok === false).map((check) => check.id);
  if (refused.length === 0) return 0;
  context.io.stderr(`ferry: refused, or missing credentials: ${refused.join(', ')}\n`);
  return 1;
}

function readWebhookFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}
