/** An error's code and message, for logs and stored errors. Never its other fields: a request's options hold its headers. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const message = error.message || (error instanceof AggregateError ? error.errors.map(describeError).join('; ') : '') || error.name;
  const code = errorCode(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
