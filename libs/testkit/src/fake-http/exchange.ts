import type { HttpRequest, HttpResult } from '@ferry/core';

/**
 * Sends a request a plugin built, as the runner's transport would, and returns what came back: for plugin specs
 * that talk to a fake over real HTTP.
 */
export async function exchangeOverHttp(request: HttpRequest): Promise<HttpResult> {
  try {
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
    return { kind: 'response', status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
  } catch (error) {
    return { kind: 'network', message: (error as Error).message };
  }
}
