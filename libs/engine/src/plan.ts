import { redactRequest, type DeliveryRequest, type NewDelivery, type RequestContext, type Skip, type SubscriptionEvent } from '@ferry/core';
import { missingConfigOf, secretValues, skipOf, type DestinationInstance } from './instance';

/** Preview: the exact requests per destination, secrets redacted, nothing sent or stored. */
export type DestinationPreview =
  | { destinationId: string; plugin: string; status: 'send'; requests: DeliveryRequest[]; warnings: string[] }
  | { destinationId: string; plugin: string; status: 'skip'; rule: string; reason: string }
  | { destinationId: string; plugin: string; status: 'paused'; missing: string[] };

/** The delivery id a preview's requests carry: there is no stored delivery behind them. */
export const PREVIEW_DELIVERY_ID = 'preview';

type Verdict =
  | { readonly status: 'skip'; readonly skip: Skip }
  | { readonly status: 'paused'; readonly missing: string[] }
  | { readonly status: 'send' };

/** Ingest and preview decide alike: the filter first (a skip is final), then whether the config lets it send at all. */
function verdictFor(event: SubscriptionEvent, destination: DestinationInstance): Verdict {
  const skip = skipOf(destination, event);
  if (skip) return { status: 'skip', skip };
  const missing = missingConfigOf(destination);
  return missing.length > 0 ? { status: 'paused', missing } : { status: 'send' };
}

/**
 * Ingest planning, one delivery per destination: skipped (reason `rule: reason`), paused when the
 * destination lacks config or is paused, else pending.
 */
export function planDeliveries(
  event: SubscriptionEvent,
  destinations: readonly DestinationInstance[],
  pausedDestinationIds: ReadonlySet<string> = new Set(),
): NewDelivery[] {
  return destinations.map((destination): NewDelivery => {
    const destinationId = destination.id;
    let verdict: Verdict;
    try {
      verdict = verdictFor(event, destination);
    } catch {
      // A plugin bug must never fail ingest: keep the event; the dispatcher filters again and reports the error.
      return { destinationId, state: 'pending' };
    }
    if (verdict.status === 'skip') return { destinationId, state: 'skipped', reason: `${verdict.skip.rule}: ${verdict.skip.reason}` };
    if (verdict.status === 'paused')
      return { destinationId, state: 'paused', reason: `missing configuration: ${verdict.missing.join(', ')}` };
    if (pausedDestinationIds.has(destinationId)) return { destinationId, state: 'paused', reason: 'the destination is paused' };
    return { destinationId, state: 'pending' };
  });
}

/** What a preview builds requests from besides the event: the time they would be sent at, and the webhook as received. */
export interface PreviewContext extends RequestContext {
  /** The webhook's text, for plugins that forward it verbatim (see `Planned.webhookBody`). */
  readonly webhookBody?: string;
}

/**
 * What each destination would be sent for `event`, built by the same plugin calls the dispatcher
 * makes, with every secret setting value redacted. Nothing is sent or stored; a plugin error throws.
 */
export function previewDeliveries(
  event: SubscriptionEvent,
  destinations: readonly DestinationInstance[],
  { webhookBody, ...context }: PreviewContext,
): DestinationPreview[] {
  return destinations.map((destination): DestinationPreview => {
    const head = { destinationId: destination.id, plugin: destination.plugin.id };
    const verdict = verdictFor(event, destination);
    if (verdict.status === 'skip') return { ...head, status: 'skip', rule: verdict.skip.rule, reason: verdict.skip.reason };
    if (verdict.status === 'paused') return { ...head, status: 'paused', missing: verdict.missing };
    const secrets = secretValues(destination);
    const requests = destination.plugin
      .buildRequests(
        [{ deliveryId: PREVIEW_DELIVERY_ID, event, ...(webhookBody !== undefined && { webhookBody }) }],
        destination.settings,
        context,
      )
      .map((request) => redactRequest(request, secrets));
    return { ...head, status: 'send', requests, warnings: requests.flatMap((request) => request.warnings ?? []) };
  });
}
