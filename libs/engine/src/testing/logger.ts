import type { Logger } from '@ferry/core';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: object;
  readonly message: string;
}

/** A Logger that keeps every entry (child fields merged in), to check what was said and that no secret was. */
export function captureLogger(entries: LogEntry[] = [], bound: object = {}): Logger & { entries: LogEntry[] } {
  const log = (level: LogEntry['level']) => (fields: object, message: string) =>
    entries.push({ level, fields: { ...bound, ...fields }, message });
  return {
    entries,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => captureLogger(entries, { ...bound, ...fields }),
  };
}
