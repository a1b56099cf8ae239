import { z } from 'zod';
import { systemClock, type DeliveryRequest, type SourceInstance, type SubscriptionEvent } from '@ferry/core';
import { previewDeliveries, type DestinationInstance, type DestinationPreview, type PreviewContext } from '@ferry/engine';
import { parseReceived } from '../sources';
import { findSource, type AdminDeps } from './deps';
import { InputError } from './errors';
import { deliveryRequest, environment, eventKind } from './records';
import { routeFor, type Answer } from './route';
import { mirrors } from './schema';

/** Preview: per destination, the exact requests a webhook would cause, secrets redacted; nothing stored or sent. */

const destination = { destinationId: z.string(), plugin: z.string() };

export const destinationPreview = mirrors<DestinationPreview>()(
  z
    .discriminatedUnion('status', [
      z
        .object({ ...destination, status: z.literal('send'), requests: z.array(deliveryRequest), warnings: z.array(z.string()) })
        .meta({ id: 'PreviewSend', description: 'The destination would send these requests.' }),
      z
        .object({
          ...destination,
          status: z.literal('skip'),
          rule: z.string().describe('The rule that skips it.'),
          reason: z.string(),
        })
        .meta({ id: 'PreviewSkip', description: 'The destination would skip the event.' }),
      z
        .object({ ...destination, status: z.literal('paused'), missing: z.array(z.string()).describe('What its configuration lacks.') })
        .meta({ id: 'PreviewPaused', description: 'The destination cannot send until its configuration is complete.' }),
    ])
    .meta({ id: 'DestinationPreview', description: 'What one destination would do with the webhook.' }),
);

const previewedEvent = mirrors<Pick<SubscriptionEvent, 'id' | 'source' | 'type' | 'kind' | 'environment' | 'appUserId'>>()(
  z.object({
    id: z.string(),
    source: z.string().describe('The source it was parsed as coming through.'),
    type: z.string(),
    kind: eventKind.nullable(),
    environment,
    appUserId: z.string().nullable(),
  }),
);

export const previewResult = z
  .object({ event: previewedEvent, destinations: z.array(destinationPreview) })
  .meta({ id: 'PreviewResult', description: 'The webhook as parsed, and per destination what it would cause.' });

export class PreviewAdmin {
  constructor(private readonly deps: AdminDeps) {}

  /** `sourceId`: the source the webhook comes through (routes may tell sources apart); default the first. */
  preview(webhook: unknown, sourceId?: string): Answer<typeof previewResult> {
    const source = findSource(this.deps, sourceId);
    if (!source) {
      const configured = (this.deps.sources ?? []).map((known) => known.id).join(', ');
      throw new InputError('invalid preview request', [
        { path: 'source', message: `unknown source ${JSON.stringify(sourceId)}; configured sources: ${configured}` },
      ]);
    }
    const parsed = parseReceived(source, webhook);
    if (!parsed.ok) throw new InputError('invalid webhook', parsed.issues);
    const event = parsed.value;
    return {
      event: {
        id: event.id,
        source: event.source,
        type: event.type,
        kind: event.kind,
        environment: event.environment,
        appUserId: event.appUserId,
      },
      // Built as if sent now; a plugin forwarding the webhook verbatim gets it as JSON text (the request gave it parsed).
      destinations: previewDeliveries(event, this.deps.destinations, {
        nowMs: (this.deps.clock ?? systemClock).now(),
        webhookBody: JSON.stringify(webhook),
      }),
    };
  }
}

/**
 * Per destination, the requests its plugin builds from a webhook stored through `source`, as preview builds them;
 * `context` gives the stored text, for plugins that forward it verbatim.
 */
export function rebuiltRequests(
  webhook: unknown,
  source: SourceInstance,
  destinations: readonly DestinationInstance[],
  context: PreviewContext,
): Map<string, readonly DeliveryRequest[]> {
  const parsed = parseReceived(source, webhook);
  if (!parsed.ok) return new Map();
  return new Map(
    previewDeliveries(parsed.value, destinations, context).map((preview) => [
      preview.destinationId,
      preview.status === 'send' ? preview.requests : [],
    ]),
  );
}

const route = routeFor<PreviewAdmin>();

export const previewWebhook = route({
  id: 'previewWebhook',
  method: 'POST',
  path: '/preview',
  summary: 'What a webhook would cause, per destination: the exact requests (secrets redacted) or why it would skip',
  description:
    'Nothing is stored or sent. A webhook the source cannot parse is answered 400, naming each wrong field. Every destination is listed, those whose route does not take the event as skipped by rule `route`.',
  query: z
    .object({
      source: z
        .string()
        .min(1)
        .optional()
        .describe('The id of the configured source the webhook comes through (routes may tell sources apart); default: the first.'),
    })
    .strict(),
  body: z.unknown().describe('A webhook body, as the source sends it.'),
  bodyName: 'webhook',
  response: previewResult,
  handle: (preview, { query, body }) => preview.preview(body, query.source),
});

export const PREVIEW_ROUTES = [previewWebhook];
