/** One line of the chart: a store backend's scaling rows. */
export interface ChartSeries {
  readonly label: string;
  readonly points: readonly { readonly storedEvents: number; readonly perSecond: number; readonly peakRssMb: number | null }[];
}

const PANEL = { width: 380, height: 260, left: 64, right: 16, top: 40, bottom: 48 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/**
 * Two panels side by side, ingest rate and runner memory against stored events (log scale), one line per
 * backend, with the memory target as a dashed line. Plain SVG, no library.
 */
export function scalingChart(series: readonly ChartSeries[], rssTargetMb: number): string {
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.storedEvents)))].sort((a, b) => a - b);
  const rate = panel('Ingest rate (webhooks/s, 64 connections)', 0, sizes, series, (p) => p.perSecond);
  const memory = panel('Runner peak RSS (MB)', PANEL.width, sizes, series, (p) => p.peakRssMb, rssTargetMb);
  const legend = series
    .map(
      (s, i) =>
        `<g transform="translate(${PANEL.left + i * 160},${PANEL.height + 8})"><rect width="12" height="12" fill="${colour(i)}"/><text x="18" y="11">${escape(s.label)}</text></g>`,
    )
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL.width * 2}" height="${PANEL.height + 28}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    rate,
    memory,
    legend,
    '</svg>',
    '',
  ].join('\n');
}

function panel(
  title: string,
  offsetX: number,
  sizes: readonly number[],
  series: readonly ChartSeries[],
  value: (point: ChartSeries['points'][number]) => number | null,
  target?: number,
): string {
  const { width, height, left, right, top, bottom } = PANEL;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const values = series.flatMap((s) => s.points.map(value)).filter((v): v is number => v !== null);
  const max = niceCeiling(Math.max(1, ...values, target ?? 0) * 1.1);
  const lowest = Math.log10(sizes[0] ?? 1);
  const span = Math.max(1e-9, Math.log10(sizes.at(-1) ?? 10) - lowest);
  const x = (stored: number) => left + (sizes.length > 1 ? ((Math.log10(stored) - lowest) / span) * plotWidth : plotWidth / 2);
  const y = (v: number) => top + plotHeight - (v / max) * plotHeight;

  const parts = [`<g transform="translate(${offsetX},0)">`, `<text x="${left}" y="${top - 16}" font-weight="bold">${escape(title)}</text>`];
  // Round labels: 2×10ⁿ splits into 4 steps, 1×10ⁿ and 5×10ⁿ into 5.
  const steps = Math.round(max / 10 ** Math.floor(Math.log10(max))) === 2 ? 4 : 5;
  for (let i = 0; i <= steps; i++) {
    const v = (max / steps) * i;
    parts.push(
      `<line x1="${left}" x2="${left + plotWidth}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${formatNumber(v)}</text>`,
    );
  }
  for (const stored of sizes) {
    parts.push(`<text x="${x(stored)}" y="${top + plotHeight + 16}" text-anchor="middle">${formatNumber(stored)}</text>`);
  }
  parts.push(`<text x="${left + plotWidth / 2}" y="${top + plotHeight + 34}" text-anchor="middle">stored events (log scale)</text>`);
  if (target !== undefined) {
    parts.push(
      `<line x1="${left}" x2="${left + plotWidth}" y1="${y(target)}" y2="${y(target)}" stroke="#888" stroke-dasharray="5,4"/>`,
      `<text x="${left + plotWidth}" y="${y(target) - 4}" text-anchor="end" fill="#666">target ${formatNumber(target)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const points = s.points.flatMap((p) => {
      const v = value(p);
      return v === null ? [] : [[x(p.storedEvents), y(v)] as const];
    });
    if (points.length === 0) return;
    parts.push(
      `<polyline fill="none" stroke="${colour(i)}" stroke-width="2" points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [px, py] of points) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${colour(i)}"/>`);
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotHeight}" stroke="#333"/>`, '</g>');
  return parts.join('\n');
}

/** 1, 2 or 5 times a power of ten, at least `value`: round axis labels. */
export function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((step) => step * power >= value) ?? 10) * power;
}

function formatNumber(value: number): string {
  if (value >= 1_000_000) return `${+(value / 1_000_000).toFixed(1)}M`;
  if (value >= 1_000) return `${+(value / 1_000).toFixed(1)}k`;
  return `${+value.toFixed(1)}`;
}

function colour(index: number): string {
  return COLOURS[index % COLOURS.length];
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
