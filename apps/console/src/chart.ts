import { count, h } from './dom.js';

/**
 * Line charts of per-minute series, drawn as SVG by hand: the console has no bundler and a strict CSP, a
 * series of 1,440 minutes is one `<path>`, and SVG keeps its text (axes, legend, readout) readable by screen
 * readers and tests. Built with createElementNS only: no markup is parsed.
 */

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 190;
const MARGIN = { top: 10, right: 10, bottom: 24, left: 46 };
/** Below this the chart would be unreadable; a narrower box scrolls it rather than squeezing it. */
const MIN_WIDTH = 280;
/** The least room an hour label takes, so labels never overlap at any width. */
const HOUR_LABEL_PX = 46;
const HOUR_MS = 3_600_000;

export interface ChartSeries {
  /** Its name in the legend and the readout. */
  readonly name: string;
  /** Its colour: the class `chart-series-<key>` (console.css). */
  readonly key: string;
  /** One value a step; null where none was taken (a gap in the line). */
  readonly values: readonly (number | null)[];
}

export interface ChartData {
  readonly title: string;
  /** What the chart says in a sentence or two (totals), for everyone: shown under the title and its accessible description. */
  readonly summary: string;
  /** The first value's time, ms since the epoch. */
  readonly fromMs: number;
  readonly stepMs: number;
  readonly series: readonly ChartSeries[];
}

export interface Chart {
  readonly element: HTMLElement;
  /** Redraws with new data, only when it changed. */
  update(data: ChartData): void;
}

let charts = 0;

export function lineChart(): Chart {
  const id = `chart-${++charts}`;
  const title = h('span', { class: 'chart-title', id: `${id}-title` });
  const summary = h('span', { class: 'hint', id: `${id}-summary` });
  const readout = h('p', { class: 'chart-readout', id: `${id}-readout`, 'aria-live': 'polite' });
  const legend = h('ul', { class: 'chart-legend' });
  const svg = svgElement('svg', {
    role: 'img',
    tabindex: 0,
    'aria-labelledby': title.id,
    'aria-describedby': `${summary.id} ${readout.id}`,
    preserveAspectRatio: 'xMinYMin meet',
  });
  const element = h('figure', { class: 'chart' }, h('figcaption', {}, title, ' ', summary), svg, legend, readout);

  let data: ChartData | undefined;
  let drawnKey = '';
  let drawnWidth = 0;
  /** The step the readout shows: the pointer's or the keyboard's; the latest when undefined. */
  let cursor: number | undefined;
  let layout: Layout | undefined;

  function draw(): void {
    if (!data) return;
    // The drawing's units are the CSS pixels of its box, so text keeps its size at any width.
    const width = Math.max(MIN_WIDTH, Math.round(svg.getBoundingClientRect().width) || 720);
    const key = JSON.stringify(data);
    if (key === drawnKey && width === drawnWidth) return;
    drawnKey = key;
    drawnWidth = width;
    title.textContent = data.title;
    summary.textContent = data.summary;
    layout = layoutOf(data, width);
    drawSvg(svg, data, layout);
    legend.replaceChildren(...data.series.map((series) => h('li', {}, swatch(series.key), series.name)));
    showCursor();
  }

  function showCursor(): void {
    if (!data || !layout) return;
    const steps = stepsOf(data);
    const at = Math.min(Math.max(cursor ?? steps - 1, 0), steps - 1);
    const x = layout.x(at);
    const line = svg.querySelector('.chart-cursor line');
    line?.setAttribute('x1', fixed(x));
    line?.setAttribute('x2', fixed(x));
    data.series.forEach((series, index) => {
      const dot = svg.querySelector(`.chart-dot[data-index="${index}"]`);
      const value = series.values[at];
      dot?.setAttribute('cx', fixed(x));
      dot?.setAttribute('cy', fixed(layout!.y(value ?? 0)));
      dot?.setAttribute('visibility', value === null || value === undefined ? 'hidden' : 'inherit');
    });
    const values = data.series.map((series) => `${series.name} ${valueText(series.values[at])}`).join(', ');
    readout.textContent = `${cursor === undefined ? 'Latest minute, ' : ''}${clock(data.fromMs + at * data.stepMs)}: ${values}`;
  }

  function moveTo(step: number | undefined): void {
    cursor = step;
    showCursor();
  }

  svg.addEventListener('pointermove', (event) => {
    if (!data || !layout) return;
    const box = svg.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * layout.width;
    moveTo(Math.round(layout.stepAt(x)));
  });
  svg.addEventListener('pointerleave', () => moveTo(undefined));
  svg.addEventListener('blur', () => moveTo(undefined));
  svg.addEventListener('keydown', (event) => {
    if (!data) return;
    const last = stepsOf(data) - 1;
    const at = cursor ?? last;
    const to: Record<string, number> = {
      ArrowLeft: at - 1,
      ArrowRight: at + 1,
      PageUp: at - 60,
      PageDown: at + 60,
      Home: 0,
      End: last,
    };
    if (!(event.key in to)) return;
    event.preventDefault();
    moveTo(Math.min(Math.max(to[event.key], 0), last));
  });
  new ResizeObserver(() => draw()).observe(element);

  return {
    element,
    update(next) {
      data = next;
      draw();
    },
  };
}

interface Layout {
  readonly width: number;
  readonly max: number;
  x(step: number): number;
  y(value: number): number;
  stepAt(x: number): number;
}

const stepsOf = (data: ChartData) => Math.max(1, ...data.series.map((series) => series.values.length));

function layoutOf(data: ChartData, width: number): Layout {
  const steps = stepsOf(data);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const highest = Math.max(0, ...data.series.flatMap((series) => series.values.map((value) => value ?? 0)));
  const max = niceMax(highest);
  const perStep = plotWidth / Math.max(1, steps - 1);
  return {
    width,
    max,
    x: (step) => MARGIN.left + step * perStep,
    y: (value) => MARGIN.top + plotHeight * (1 - value / max),
    stepAt: (x) => (x - MARGIN.left) / perStep,
  };
}

/** The value axis's top: the highest value rounded up to 1, 2 or 5 times a power of ten, so it reads at a glance. */
export function niceMax(highest: number): number {
  if (highest <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(highest));
  return [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= highest)!;
}

function drawSvg(svg: SVGSVGElement, data: ChartData, layout: Layout): void {
  const { width, max, x, y } = layout;
  const steps = stepsOf(data);
  const bottom = HEIGHT - MARGIN.bottom;
  svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
  const parts: SVGElement[] = [];

  // Value axis: the baseline, the middle and the top, labelled.
  for (const value of max >= 2 ? [0, max / 2, max] : [0, max]) {
    parts.push(
      svgElement('line', { class: 'chart-grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: fixed(y(value)), y2: fixed(y(value)) }),
    );
    parts.push(svgText(shortCount(value), { class: 'chart-label', x: MARGIN.left - 6, y: fixed(y(value) + 4), 'text-anchor': 'end' }));
  }

  // Time axis: a tick each hour, labelled as often as the width allows.
  const endMs = data.fromMs + (steps - 1) * data.stepMs;
  const perHourPx = (x(steps - 1) - x(0)) / Math.max(1, (endMs - data.fromMs) / HOUR_MS);
  const every = [1, 2, 3, 4, 6, 12, 24].find((hours) => hours * perHourPx >= HOUR_LABEL_PX) ?? 24;
  for (let hourMs = Math.ceil(data.fromMs / HOUR_MS) * HOUR_MS; hourMs <= endMs; hourMs += HOUR_MS) {
    const at = x((hourMs - data.fromMs) / data.stepMs);
    parts.push(svgElement('line', { class: 'chart-tick', x1: fixed(at), x2: fixed(at), y1: bottom, y2: bottom + 4 }));
    if (new Date(hourMs).getHours() % every === 0)
      parts.push(svgText(clock(hourMs), { class: 'chart-label', x: fixed(at), y: HEIGHT - 6, 'text-anchor': 'middle' }));
  }

  // Each series is one path; a null value breaks its line.
  for (const series of data.series) {
    let d = '';
    let pen = 'M';
    series.values.forEach((value, step) => {
      if (value === null) {
        pen = 'M';
        return;
      }
      d += `${pen}${fixed(x(step))} ${fixed(y(value))}`;
      pen = 'L';
    });
    parts.push(
      svgElement('path', {
        class: `chart-line chart-series-${series.key}`,
        d: d || `M${MARGIN.left} ${bottom}`,
        'data-series': series.key,
      }),
    );
  }
  // Where the readout is: a line across, a dot on each series (placed by the readout).
  const cursor = svgElement('g', { class: 'chart-cursor' });
  cursor.append(svgElement('line', { x1: 0, x2: 0, y1: MARGIN.top, y2: bottom }));
  data.series.forEach((series, index) =>
    cursor.append(svgElement('circle', { class: `chart-dot chart-series-${series.key}`, 'data-index': index, r: 3, cx: 0, cy: bottom })),
  );
  parts.push(cursor);
  svg.replaceChildren(...parts);
}

function swatch(key: string): SVGSVGElement {
  const icon = svgElement('svg', { class: 'chart-swatch', viewBox: '0 0 16 8', width: 16, height: 8, 'aria-hidden': 'true' });
  icon.append(svgElement('line', { class: `chart-line chart-series-${key}`, x1: 0, x2: 16, y1: 4, y2: 4 }));
  return icon;
}

function svgElement<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

function svgText(text: string, attributes: Record<string, string | number>): SVGTextElement {
  const element = svgElement('text', attributes);
  element.textContent = text;
  return element;
}

const fixed = (n: number) => n.toFixed(1);
const valueText = (value: number | null | undefined) => (value === null || value === undefined ? 'not sampled' : count(value));
/** Axis labels stay short: 12k, 1.5M. */
const shortCount = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e4 ? `${n / 1e3}k` : count(n));
/** `14:05`, local time. */
const clock = (ms: number) => {
  const at = new Date(ms);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
};
