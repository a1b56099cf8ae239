import { isLoopback } from './config-schema';

/** Host names that always reach a loopback runner (with its port): its own addresses as a browser on the machine names them. */
const LOOPBACK_NAMES = /^(localhost|\[::1\]|127(\.\d{1,3}){3})$/;

/** A Host header split into its name (lower case; an IPv6 address keeps its brackets) and port, if any. */
export function parseHost(header: string): { name: string; port: number | undefined } {
  const value = header.trim().toLowerCase();
  const colon = value.startsWith('[') ? value.indexOf(':', value.indexOf(']')) : value.lastIndexOf(':');
  if (colon === -1) return { name: value, port: undefined };
  const port = value.slice(colon + 1);
  return { name: value.slice(0, colon), port: /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN };
}

/**
 * The DNS-rebinding guard of a runner that listens on loopback only: a web page can make a browser on this
 * machine post to it under a name of the page's choosing, so only its own loopback names (on its port) and
 * the names in `server.allowedHosts` (any port: a proxy in front forwards its public name) are answered.
 * Undefined beyond loopback, where any name may reach the runner and the webhook authorization is required.
 * A request without a Host header passes: browsers always send one. `ownPort` is the port the request came in on
 * (its socket's, which Node keeps per connection: no system call per request).
 */
export function loopbackHostCheck(server: {
  readonly host: string;
  readonly allowedHosts: readonly string[];
}): ((host: string | undefined, ownPort: number | undefined) => boolean) | undefined {
  if (!isLoopback(server.host)) return undefined;
  const allowed = new Set(server.allowedHosts.map((name) => name.toLowerCase()));
  return (header, ownPort) => {
    if (header === undefined) return true;
    const { name, port } = parseHost(header);
    if (allowed.has(name)) return true;
    return LOOPBACK_NAMES.test(name) && (port === undefined ? ownPort === 80 : port === ownPort);
  };
}
