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
