import { z } from 'zod';
import { ACTIVITY_KEPT_MS, ACTIVITY_MINUTE_MS, minuteOf, systemClock, type ActivityCount, type ActivitySeries } from '@ferry/core';
import { bounded, numeric } from '../input';
import { portOf, type AdminDeps } from './deps';
import { routeFor, type Answer } from './route';

/** Activity: per-minute counts of what every runner did, for the console's charts (SPEC §17). */

const MAX_HOURS = ACTIVITY_KEPT_MS / (60 * ACTIVITY_MINUTE_MS);
const DEFAULT_HOURS = 24;

export const activityQuery = z
  .object({
    hours: numeric(bounded(1, MAX_HOURS).optional()).describe(
      `How many hours back, the current minute included (default ${DEFAULT_HOURS}).`,
    ),
  })
  .strict();

const perMinute = z.array(z.number().int().nonnegative());

export const activityView = z
  .object({
    minuteMs: z.literal(ACTIVITY_MINUTE_MS).describe('The length of each entry, in ms.'),
    fromMs: z.number().int().describe("The first entry's minute, ms since the epoch: a minute boundary."),
    toMs: z.number().int().describe('The end of the last entry (the current minute), exclusive: fromMs + minuteMs × entries.'),
    series: z.object({
      received: perMinute.describe('Webhooks stored per minute, by every runner (duplicates not counted).'),
      delivered: perMinute.describe('Deliveries delivered per minute.'),
      failed: perMinute.describe('Deliveries whose attempt failed per minute: retried later, rejected, or credentials refused.'),
      backlog: z
        .array(z.number().int().nonnegative().nullable())
        .describe(
          'Deliveries not yet final (pending, in flight, paused): the highest sampled in each minute; null where none was sampled.',
        ),
    }),
  })
  .meta({
    id: 'ActivityView',
    description:
      'Per-minute activity, one entry per minute from fromMs to the current minute. Other runners’ counts arrive every few seconds; this runner’s are live.',
  });

export type ActivityView = Answer<typeof activityView>;

export class ActivityAdmin {
  constructor(private readonly deps: AdminDeps) {}

  async show(hours = DEFAULT_HOURS): Promise<ActivityView> {
    const nowMinuteMs = minuteOf((this.deps.clock ?? systemClock).now());
    const minutes = hours * 60;
    const fromMs = nowMinuteMs - (minutes - 1) * ACTIVITY_MINUTE_MS;
    const toMs = nowMinuteMs + ACTIVITY_MINUTE_MS;
    const series = {
      received: new Array<number>(minutes).fill(0),
      delivered: new Array<number>(minutes).fill(0),
      failed: new Array<number>(minutes).fill(0),
      backlog: new Array<number | null>(minutes).fill(null),
    } satisfies Record<ActivitySeries, (number | null)[]>;
    const stored = await portOf(this.deps, 'activity').read(fromMs, toMs);
    const unflushed: readonly ActivityCount[] = this.deps.unflushedActivity?.() ?? [];
    for (const { series: name, minuteMs, value } of [...stored, ...unflushed]) {
      if (minuteMs < fromMs || minuteMs >= toMs) continue;
      const index = (minuteMs - fromMs) / ACTIVITY_MINUTE_MS;
      if (name === 'backlog') series.backlog[index] = value;
      else series[name][index] += value;
    }
    return { minuteMs: ACTIVITY_MINUTE_MS, fromMs, toMs, series };
  }
}

const route = routeFor<ActivityAdmin>();

export const showActivity = route({
  id: 'showActivity',
  method: 'GET',
  path: '/activity',
  summary: 'Webhooks received, deliveries delivered and failed, and the backlog, per minute over the last hours (every runner)',
  query: activityQuery,
  response: activityView,
  handle: (activity, { query }) => activity.show(query.hours),
});

export const ACTIVITY_ROUTES = [showActivity];
