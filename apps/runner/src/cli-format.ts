import type { AnswerOf, DestinationView, EventView, OrphanView, SourceView, UserView } from './admin';
import type { ConnectionCheckAnswer } from './admin/connection-checks';
import type { listDeliveries } from './admin/deliveries';
import type { ErasureJobView, eraseUser } from './admin/erasure';
import type { listEvents } from './admin/events';
import type { previewWebhook } from './admin/preview';

/** Human-readable output of the command line; every command also has `--json` for the exact data. */

const time = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : new Date(ms).toISOString());
const text = (value: string | number | null | undefined) => (value === null || value === undefined || value === '' ? '-' : String(value));
const clip = (value: string, width: number) => (value.length > width ? `${value.slice(0, width - 1)}…` : value);

/** Left-aligned columns separated by two spaces. */
function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

function nextPage(page: { readonly next?: string }): string {
  return page.next ? `more: --before ${page.next}\n` : '';
}

export function formatEvents(page: AnswerOf<typeof listEvents>): string {
  if (page.events.length === 0) return 'no events\n';
  const rows = page.events.map((event) => [
    time(event.receivedAtMs),
    event.id,
    event.source,
    event.type,
    text(event.kind),
    text(event.userId),
    event.environment,
    text(event.deliveries.map((delivery) => `${delivery.destinationId}:${delivery.state}`).join(' ')),
  ]);
  return table(['RECEIVED', 'ID', 'SOURCE', 'TYPE', 'KIND', 'USER', 'ENV', 'DELIVERIES'], rows) + nextPage(page);
}

/** A customer's timeline: each event with the state after it and its deliveries, then what each destination holds. */
export function formatUser(user: UserView): string {
  const lines = [`user ${user.userId}: ${user.events.length} event(s)${user.truncated ? ' (the newest; older ones not shown)' : ''}`, ''];
  const rows = user.events.map((event) => [
    time(event.timestampMs),
    event.id,
    `${event.type} (${text(event.kind)})`,
    text(event.userId),
    `${text(event.stateAfter)}${event.changesState ? '' : ' (kept)'}`,
    text(event.deliveries.map((delivery) => `${delivery.destinationId}:${delivery.state}`).join(' ')),
  ]);
  lines.push(table(['HAPPENED', 'EVENT', 'TYPE', 'APP USER', 'STATE AFTER', 'DELIVERIES'], rows).trimEnd());
  for (const destination of user.destinations) {
    lines.push(
      '',
      `${destination.destinationId} (${destination.plugin})` + (destination.sendsState ? ':' : ': sends no subscription state'),
    );
    if (destination.sendsState && destination.sent.length === 0) lines.push('  no profile of this user there');
    for (const sent of destination.sent) {
      const carrier =
        sent.eventId === null
          ? sent.timestampMs === null
            ? 'nothing accepted yet'
            : `an event at ${time(sent.timestampMs)} not shown`
          : `event ${sent.eventId}`;
      lines.push(`  ${sent.profile}: ${text(sent.state)} (${carrier})${sent.claimInFlight ? ', a state in flight' : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function formatDeliveries(page: AnswerOf<typeof listDeliveries>): string {
  if (page.deliveries.length === 0) return 'no deliveries\n';
  const rows = page.deliveries.map((delivery) => [
    time(delivery.updatedAtMs),
    delivery.id,
    delivery.eventId,
    delivery.destinationId,
    delivery.state,
    String(delivery.attempts),
    delivery.state === 'pending' ? time(delivery.nextAttemptAtMs) : '-',
    text(delivery.lastStatus),
    clip(text(delivery.lastError), 80),
  ]);
  return (
    table(['UPDATED', 'ID', 'EVENT', 'DESTINATION', 'STATE', 'ATTEMPTS', 'NEXT ATTEMPT', 'STATUS', 'LAST ERROR'], rows) + nextPage(page)
  );
}

export function formatEvent(event: EventView): string {
  const lines = [
    `event ${event.id}: ${event.type} (${text(event.kind)}), ${event.environment}, user ${text(event.userId)}`,
    `  from source ${event.source}, happened ${time(event.timestampMs)}, received ${time(event.receivedAtMs)}`,
  ];
  for (const delivery of event.deliveries) {
    lines.push(
      '',
      `delivery ${delivery.id} → ${delivery.destinationId}: ${delivery.state}, ${delivery.attempts} attempt(s)` +
        (delivery.state === 'pending' ? `, next at ${time(delivery.nextAttemptAtMs)}` : '') +
        (delivery.deliveredAtMs ? `, delivered ${time(delivery.deliveredAtMs)}` : ''),
    );
    if (delivery.lastError) lines.push(`  last error: ${delivery.lastError}`);
    for (const attempt of delivery.attemptLog) {
      lines.push(
        `  #${attempt.number} ${time(attempt.startedAtMs)}  ${attempt.outcome}  HTTP ${text(attempt.status)}  ${attempt.durationMs} ms` +
          (attempt.error ? `  ${attempt.error}` : ''),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function formatDestinations(destinations: readonly DestinationView[]): string {
  if (destinations.length === 0) return 'no destinations configured\n';
  const rows = destinations.map((destination) => [
    destination.id,
    destination.plugin,
    destination.pausedBy ? `${destination.state} (${destination.pausedBy})` : destination.state,
    String(destination.deliveries.pending),
    String(destination.deliveries.in_flight),
    String(destination.deliveries.paused),
    String(destination.deliveries.delivered),
    String(destination.deliveries.skipped),
    String(destination.deliveries.dead),
    text(destination.reason),
  ]);
  return table(['ID', 'PLUGIN', 'STATE', 'PENDING', 'IN FLIGHT', 'PAUSED', 'DELIVERED', 'SKIPPED', 'DEAD', 'REASON'], rows);
}

/** What `ok` says, in a word: accepted, refused, or the check could not tell (or has no request). */
const VERDICT_WORDS = { true: 'yes', false: 'NO', null: '-' } as const;

export function formatConnectionChecks(checks: readonly (ConnectionCheckAnswer & { readonly id: string })[]): string {
  if (checks.length === 0) return 'no destinations configured\n';
  const rows = checks.map((check) => [check.id, VERDICT_WORDS[`${check.ok}`], text(check.status), check.reason]);
  return table(['DESTINATION', 'OK', 'STATUS', 'REASON'], rows);
}

/** Duplicate and rejected webhooks are counted by the runner that took them: the command line, which takes none, shows the stored. */
/** Per configured destination, what an erase with `--destinations` made of it. */
export function formatRemoteErasures(remote: NonNullable<AnswerOf<typeof eraseUser>['remote']>): string {
  if (remote.length === 0) return 'no destination configured\n';
  const rows = remote.map((entry) => [entry.destination, entry.state, text(entry.job ?? entry.reason)]);
  return (
    table(['DESTINATION', 'ERASURE', 'JOB OR REASON'], rows) +
    (remote.some((entry) => entry.state === 'pending') ? 'see: ferry erasures\n' : '')
  );
}

export function formatErasures(page: { readonly jobs: readonly ErasureJobView[]; readonly next?: string }): string {
  if (page.jobs.length === 0) return 'no erasure jobs\n';
  const rows = page.jobs.map((job) => [
    time(job.createdAtMs),
    job.id,
    job.destinationConfigured ? job.destination : `${job.destination} (not configured)`,
    job.state,
    `${job.step}/${job.steps}`,
    String(job.attempts),
    job.state === 'pending' ? time(job.nextAttemptAtMs) : '-',
    clip([String(job.identities.count), ...job.identities.masked].join(' '), 40),
    clip(text(job.lastAnswer), 80),
  ]);
  return table(['CREATED', 'ID', 'DESTINATION', 'STATE', 'STEP', 'ATTEMPTS', 'NEXT ATTEMPT', 'IDS', 'LAST ANSWER'], rows) + nextPage(page);
}

export function formatSources(sources: readonly SourceView[]): string {
  if (sources.length === 0) return 'no sources configured\n';
  const rows = sources.map((source) => [source.id, source.plugin, source.webhookPath, String(source.counts.stored)]);
  return table(['ID', 'PLUGIN', 'WEBHOOK PATH', 'STORED EVENTS'], rows);
}

export function formatOrphans(orphans: readonly OrphanView[]): string {
  if (orphans.length === 0) return 'no orphaned deliveries: every destination in the store is configured\n';
  const rows = orphans.map(({ destinationId, deliveries }) => [
    destinationId,
    String(deliveries.pending),
    String(deliveries.in_flight),
    String(deliveries.paused),
    String(deliveries.delivered),
    String(deliveries.skipped),
    String(deliveries.dead),
  ]);
  return (
    table(['DESTINATION', 'PENDING', 'IN FLIGHT', 'PAUSED', 'DELIVERED', 'SKIPPED', 'DEAD'], rows) +
    'waiting ones (pending, in flight, paused) are sent nowhere: "orphans drop ID" or "orphans reassign ID --to CONFIGURED_ID"\n'
  );
}

/** One line: a destination's state, and why and since when it is paused. */
export function formatDestinationState(destination: DestinationView): string {
  if (destination.state === 'running') return `${destination.id}: running\n`;
  const since = destination.since === undefined ? '' : ` since ${time(destination.since)}`;
  return `${destination.id}: paused by ${text(destination.pausedBy)}${since}: ${text(destination.reason)}\n`;
}

/** Bodies are pretty-printed for reading; `--json` shows them byte-exact. */
export function formatPreview(preview: AnswerOf<typeof previewWebhook>): string {
  const { event } = preview;
  const lines = [
    `event ${event.id}: ${event.type} (${text(event.kind)}), ${event.environment}, user ${text(event.appUserId)}, source ${event.source}`,
  ];
  for (const destination of preview.destinations) {
    const name = `${destination.destinationId} (${destination.plugin})`;
    lines.push('');
    if (destination.status === 'skip') {
      lines.push(`${name}: skipped, ${destination.rule}: ${destination.reason}`);
    } else if (destination.status === 'paused') {
      lines.push(`${name}: paused, ${destination.missing.join('; ')}`);
    } else {
      lines.push(`${name}: ${destination.requests.length} request(s)`);
      for (const request of destination.requests) {
        lines.push(`  ${request.method} ${request.url}`);
        for (const [header, value] of Object.entries(request.headers)) lines.push(`  ${header}: ${value}`);
        lines.push('', indent(prettyBody(request.body), '  '));
      }
      for (const warning of destination.warnings) lines.push(`  warning: ${warning}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function indent(block: string, prefix: string): string {
  return block
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}
