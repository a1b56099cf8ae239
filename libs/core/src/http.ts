/** HTTP exchanges as plugins describe and read them: the transport sends the request, plugins read the result. */

/**
 * An HTTP request, as the transport sends it: a `DeliveryRequest` is one, and so is what a plugin asks outside of
 * deliveries. The runner sends them; plugins never touch the network.
 */
export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** What came back from sending a request. */
export type HttpResult =
  | { readonly kind: 'response'; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string }
  | { readonly kind: 'timeout'; readonly message: string }
  | { readonly kind: 'network'; readonly message: string };

/** A header's value by case-insensitive name. */
export function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** JSON.parse that answers undefined instead of throwing: response bodies are untrusted. */
export function parseJsonSafely(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
