import { replace, type Child } from './dom.js';

/** What every page offers the shell: its heading and a refresh the shell calls on a timer while the tab is visible. */
export interface Page {
  readonly title: string;
  refresh(): Promise<void>;
}

export interface Shell {
  /** Shows a message in the status line (announced to screen readers). */
  notify(message: string, kind?: 'info' | 'error'): void;
  /** Runs an operator action, showing its error instead of throwing. */
  act(action: () => Promise<void>): Promise<void>;
  /**
   * Goes to a console address without a reload: a new history entry (or the current one replaced), carrying
   * `state` for the page it opens (`history.state`, kept over a reload).
   */
  navigate(to: string, options?: { replace?: boolean; state?: unknown }): void;
}

const shown = new WeakMap<Element, string>();

/**
 * Redraws `container` from `data` only when the data changed, so a refresh every few seconds neither
 * flickers nor takes the keyboard focus away from a control the operator is on.
 */
export function renderIfChanged<T>(container: Element, data: T, render: (data: T) => Child[]): void {
  const key = JSON.stringify(data);
  if (shown.get(container) === key) return;
  shown.set(container, key);
  replace(container, ...render(data));
}
