/** A child of `h`: text is always inserted as text, never parsed as HTML. */
export type Child = Node | string | number | null | undefined | false;

type Attributes = Record<string, string | boolean | number | undefined | ((event: Event) => void)>;

/** Builds an element; `on…` attributes become listeners, `false`/`undefined` ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== undefined && value !== false) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces a container's content, keeping the container (and the focus outside it). */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A labelled form field: the label names the control for screen readers and tests. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

export function select(name: string, options: readonly (readonly [value: string, label: string])[], selected = ''): HTMLSelectElement {
  return h('select', { name }, ...options.map(([value, label]) => h('option', { value, selected: value === selected }, label)));
}

let tables = 0;

/** Text up to this long (a time, an id, a count, a state) keeps one line in a cell; longer text (an error) wraps. */
const SHORT_CELL_CHARS = 40;
const isShort = (cell: Child) => (typeof cell === 'string' || typeof cell === 'number') && String(cell).length <= SHORT_CELL_CHARS;

/**
 * A table in its own scroll box: on a narrow screen a wide table scrolls sideways inside the box, never the
 * page. The box is a named, focusable region so a keyboard can scroll it too; its name is the caption, else
 * the column headings.
 */
export function table(headings: readonly string[], rows: readonly Child[][], caption?: string): HTMLElement {
  const captionId = `table-caption-${++tables}`;
  return h(
    'div',
    {
      class: 'table-box',
      role: 'region',
      tabindex: 0,
      'aria-labelledby': caption ? captionId : undefined,
      'aria-label': caption ? undefined : `Table: ${headings.filter((heading) => heading !== '').join(', ')}`,
    },
    h(
      'table',
      {},
      caption ? h('caption', { id: captionId }, caption) : null,
      h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', { scope: 'col' }, heading)))),
      h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', { class: isShort(cell) && 'short' }, cell))))),
    ),
  );
}

export const time = (ms: number | null | undefined): string => (ms ? new Date(ms).toLocaleString() : '—');

export function age(ms: number): string {
  if (ms < 1_000) return ms > 0 ? '< 1 s' : '—';
  const seconds = Math.round(ms / 1_000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** Request bodies are JSON text: shown pretty when they parse, as sent otherwise. */
export function prettyBody(body: string): string {
  try {
    return json(JSON.parse(body));
  } catch {
    return body;
  }
}

export const badge = (state: string): HTMLElement => h('span', { class: `badge state-${state}` }, state.replace('_', ' '));

/** `datetime-local` value → epoch ms, or undefined when empty. */
export const localTimeMs = (value: string): number | undefined => (value ? new Date(value).getTime() : undefined);

/** Epoch ms → a `datetime-local` value (local time, to the minute): a filter read from the address shows as typed. */
export function localTimeValue(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  const at = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}T${two(at.getHours())}:${two(at.getMinutes())}`;
}

/** A count as the operator reads it: `1,234`. */
export const count = (n: number): string => n.toLocaleString('en-US');

/** `1 delivery`, `2 deliveries`: a count and its noun. */
export const counted = (n: number, one: string, many: string): string => `${count(n)} ${n === 1 ? one : many}`;
