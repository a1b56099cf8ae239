import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import {
  sameOutcomeForAll,
  standardFailureOutcomes,
  standardFilter,
  subscriptionStatus,
  TOKENS,
  type Capabilities,
  type DestinationPlugin,
} from '@ferry/core';
import type { ServiceContainer } from '../service-container';

const capabilities: Capabilities = {
  batch: { maxItems: 50 },
  maxConcurrency: 4,
  negativeRevenue: false,
  transfers: false,
  sandbox: 'forward',
  kinds: { renewal: { defaultName: 'renewal', optional: false }, expiration: { defaultName: 'expiration', optional: false } },
  subscriptionState: true,
};

/** A destination that sends each event's id and, when the engine allows it, the user's subscription state. */
export const statePlugin: DestinationPlugin<{ url: string }> = {
  id: 'state-test',
  displayName: 'Subscription state (test)',
  settings: z.object({ url: z.string() }),
  secrets: [],
  exampleSettings: { url: 'http://127.0.0.1:9' },
  capabilities,
  filter: (event) => standardFilter(capabilities, event, { eventNames: undefined }),
  eventName: (event) => event.kind ?? '',
  revenue: () => ({ amount: 0, currency: 'USD' }),
  identity: (event) => ({ user: event.appUserId ?? '' }),
  buildRequests: (batch, settings) => [
    {
      method: 'POST',
      url: settings.url,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        batch.map(({ event, carriesState }) => ({
          event: event.id,
          user: event.appUserId,
          state: carriesState === false ? null : (subscriptionStatus(event) ?? null),
        })),
      ),
      deliveryIds: batch.map((item) => item.deliveryId),
      concurrencyKey: 'state',
    },
  ],
  parseResponse: (request, result) =>
    result.kind === 'response' && result.status === 200
      ? sameOutcomeForAll(request, { type: 'delivered', status: 200 })
      : standardFailureOutcomes(request, result),
};

/** Offers the plugin to a runner under test: `startTestRunner(config, { configure: offerStatePlugin })`. */
export function offerStatePlugin(services: ServiceContainer): void {
  services.bindValue(TOKENS.DestinationPlugin, statePlugin);
}

export interface StateItem {
  readonly event: string;
  readonly user: string;
  readonly state: string | null;
}

/** Records every item the plugin sends, in the order they arrive. */
export async function startStateReceiver(): Promise<{ url: string; items: StateItem[]; close(): Promise<void> }> {
  const items: StateItem[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      items.push(...(JSON.parse(body) as StateItem[]));
      response.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/state`, items, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
