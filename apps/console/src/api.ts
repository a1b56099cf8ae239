const TOKEN_KEY = 'ferry.adminToken';

/** The token is kept for this tab only (sessionStorage), and sent only in the Authorization header. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** The runner refused the token (401) or has the admin API off (403): the console signs out. */
export class SignedOut extends Error {}

/** Any other refusal, with the admin API's own message and field issues. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: string;
  issues?: { path: string; message: string }[];
}

function messageOf(body: ErrorBody | undefined, status: number): string {
  const issues = (body?.issues ?? []).map((issue) => `${issue.path}: ${issue.message}`);
  return [body?.error ?? `the runner answered ${status}`, ...issues].join('; ');
}

async function call(method: 'GET' | 'POST', path: string, body: unknown, authorized: boolean): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (authorized) {
    const current = token.get();
    if (!current) throw new SignedOut('Sign in with the admin token.');
    headers.authorization = `Bearer ${current}`;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  return { status: response.status, text: await response.text() };
}

/** Calls the admin API (`path` under /admin) with the tab's token. */
export async function admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const { status, text } = await call(method, `/admin${path}`, body, true);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (status === 401 || status === 403) {
    token.clear();
    throw new SignedOut(status === 401 ? 'The runner refused the admin token: sign in again.' : messageOf(parsed as ErrorBody, status));
  }
  if (status < 200 || status >= 300) throw new ApiError(messageOf(parsed as ErrorBody, status), status);
  return parsed as T;
}

/** Prometheus text from /metrics (no token needed), as `name{labels}` → value. */
export async function metrics(): Promise<Map<string, number>> {
  const { status, text } = await call('GET', '/metrics', undefined, false);
  if (status !== 200) throw new ApiError(`/metrics answered ${status}`, status);
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Sums every sample of a metric whose labels include all of `labels`. */
export function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([label, expected]) => key.includes(`${label}="${expected}"`))) total += value;
  }
  return total;
}
