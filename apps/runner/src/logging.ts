import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import { REDACTED, redactText, secretForms } from '@ferry/core';

export type { PinoLogger };

/** A redactor for outgoing text (log lines, HTTP responses, CLI output): the last line of defence. */
export function textRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = secretForms(secrets);
  return (text) => redactText(text, forms);
}

export interface LoggerOptions {
  readonly level: string;
  /** Values that must never appear in a log line (passcodes, tokens, authorization values). */
  readonly secrets: readonly string[];
  /** Where JSON lines go; stdout by default. */
  readonly stream?: DestinationStream;
}

/**
 * Structured JSON logs. Known secret-bearing fields are censored by path, and every line is scrubbed
 * of each configured secret value before it is written, whatever field or message carried it.
 */
export function createLogger(options: LoggerOptions): PinoLogger {
  const redact = textRedactor(options.secrets);
  const target = options.stream ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level,
      base: { service: 'ferry' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'headers["x-clevertap-passcode"]'],
        censor: REDACTED,
      },
    },
    { write: (line: string) => target.write(redact(line)) },
  );
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A value as `key=value` shows it: bare when that cannot be misread, JSON otherwise (strings with spaces, objects). */
const fieldValue = (value: unknown) => (typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value));

/**
 * One JSON log line as a person reads it: `time LEVEL message  key=value …`, every other field kept.
 * Anything that is not a JSON object passes through unchanged.
 */
export function formatLogLine(line: string): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return line;
  const { time, level, msg, ...fields } = record as Record<string, unknown>;
  const head = [
    time === undefined ? undefined : String(time),
    level === undefined ? undefined : (LEVEL_NAMES[level as number] ?? fieldValue(level)).padEnd(5),
    msg === undefined ? undefined : String(msg),
  ].filter((part) => part !== undefined);
  const rest = Object.entries(fields).map(([key, value]) => `${key}=${fieldValue(value)}`);
  return [head.join(' '), rest.join(' ')].filter(Boolean).join('  ');
}

/** Writes each JSON line given to it as formatLogLine shows it (for a terminal). */
export function prettyLogStream(target: DestinationStream): DestinationStream {
  return {
    write: (chunk: string) => {
      const lines = chunk.split('\n').filter((line) => line !== '');
      target.write(lines.map((line) => `${formatLogLine(line)}\n`).join(''));
    },
  };
}
