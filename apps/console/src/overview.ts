import { admin, metrics, sum } from './api.js';
import { lineChart, type ChartData } from './chart.js';
import { age, badge, count, h, table } from './dom.js';
import { renderIfChanged, type Page } from './page.js';
import { href, sourceEventsHref } from './paths.js';
import type { ListDestinationsResponse, ListSourcesResponse, ShowActivityResponse } from './admin-api.js';

/** The tiles' "last minutes": the current minute and the four before it, from the per-minute counts. */
const RECENT_MINUTES = 5;

export function overviewPage(main: HTMLElement): Page {
  const summary = h('section', { 'aria-label': 'Totals' });
  const flow = lineChart();
  const backlog = lineChart();
  const destinations = h('section', { 'aria-labelledby': 'destinations-heading' });
  const sources = h('section', { 'aria-labelledby': 'sources-heading' });
  main.append(
    summary,
    h(
      'section',
      { 'aria-labelledby': 'activity-heading' },
      h('h2', { id: 'activity-heading' }, 'Last 24 hours'),
      h('div', { class: 'charts' }, flow.element, backlog.element),
    ),
    h('h2', { id: 'destinations-heading' }, 'Destinations'),
    destinations,
    h('h2', { id: 'sources-heading' }, 'Sources'),
    sources,
  );

  return {
    title: 'Overview',
    async refresh() {
      const [views, sourceViews, samplesNow, activity] = await Promise.all([
        admin<ListDestinationsResponse>('GET', '/destinations').then((answer) => answer.destinations),
        admin<ListSourcesResponse>('GET', '/sources').then((answer) => answer.sources),
        metrics(),
        admin<ShowActivityResponse>('GET', '/activity?hours=24'),
      ]);
      flow.update(flowChart(activity));
      backlog.update(backlogChart(activity));
      const totals = {
        webhooks: sum(samplesNow, 'ferry_webhooks_total', { outcome: 'stored' }),
        duplicates: sum(samplesNow, 'ferry_webhooks_total', { outcome: 'duplicate' }),
        events: sum(samplesNow, 'ferry_events_stored'),
        delivered: total(activity.series.delivered, RECENT_MINUTES),
        failed: total(activity.series.failed, RECENT_MINUTES),
      };
      renderIfChanged(summary, totals, (t) => [
        h(
          'dl',
          { class: 'tiles' },
          ...tile('Webhooks stored (since start)', t.webhooks),
          ...tile('Duplicates (since start)', t.duplicates),
          ...tile('Events in the store', t.events),
          ...tile(`Delivered, last ${RECENT_MINUTES} min`, t.delivered),
          ...tile(`Failed attempts, last ${RECENT_MINUTES} min`, t.failed),
        ),
      ]);
      renderIfChanged(destinations, views, (list) => [
        table(
          ['Destination', 'State', 'Pending', 'In flight', 'Paused', 'Delivered', 'Skipped', 'Dead', 'Oldest pending'],
          list.map((view) => [
            h('a', { href: href('destinations') }, view.id),
            h('span', {}, badge(view.state), view.reason ? ` ${view.reason}` : ''),
            view.deliveries.pending,
            view.deliveries.in_flight,
            view.deliveries.paused,
            view.deliveries.delivered,
            view.deliveries.skipped,
            view.deliveries.dead > 0 ? h('a', { href: href('dead') }, String(view.deliveries.dead)) : '0',
            age(view.oldestPendingAgeMs),
          ]),
        ),
      ]);
      renderIfChanged(sources, sourceViews, (list) => [
        table(
          ['Source', 'Plugin', 'Webhook path', 'Events stored', 'Duplicates (since start)', 'Rejected (since start)'],
          list.map((view) => [
            h('a', { href: sourceEventsHref(view.id) }, view.id),
            view.plugin,
            h('code', {}, view.webhookPath),
            view.counts.stored,
            view.counts.duplicate ?? '—',
            view.counts.rejected ?? '—',
          ]),
        ),
      ]);
    },
  };
}

const tile = (label: string, value: number) => [h('div', {}, h('dt', {}, label), h('dd', {}, String(value)))];

const MINUTES_PER_HOUR = 60;
const total = (values: readonly number[], minutes = values.length) => values.slice(-minutes).reduce((sum, value) => sum + value, 0);

/** Webhooks received, deliveries delivered and attempts failed per minute, with the last hour's and the day's totals. */
function flowChart({ fromMs, minuteMs, series }: ShowActivityResponse): ChartData {
  const totals = (minutes?: number) =>
    `${count(total(series.received, minutes))} received, ${count(total(series.delivered, minutes))} delivered, ${count(total(series.failed, minutes))} failed`;
  return {
    title: 'Webhooks and deliveries per minute',
    summary: `Last hour: ${totals(MINUTES_PER_HOUR)}. Last 24 hours: ${totals()}.`,
    fromMs,
    stepMs: minuteMs,
    series: [
      { name: 'Webhooks received', key: 'received', values: series.received },
      { name: 'Delivered', key: 'delivered', values: series.delivered },
      { name: 'Failed', key: 'failed', values: series.failed },
    ],
  };
}

/** Deliveries not yet final (pending, in flight, paused), as sampled each minute. */
function backlogChart({ fromMs, minuteMs, series }: ShowActivityResponse): ChartData {
  const sampled = series.backlog.filter((value): value is number => value !== null);
  const latest = sampled[sampled.length - 1];
  return {
    title: 'Pending backlog',
    summary:
      sampled.length === 0
        ? 'Not sampled yet.'
        : `Latest: ${count(latest)} waiting (pending, in flight or paused). Highest in 24 hours: ${count(Math.max(...sampled))}.`,
    fromMs,
    stepMs: minuteMs,
    series: [{ name: 'Waiting deliveries', key: 'backlog', values: series.backlog }],
  };
}
