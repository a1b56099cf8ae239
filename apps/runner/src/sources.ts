import type { ParseResult, SourceInstance, SubscriptionEvent } from '@ferry/core';

/**
 * The configured sources at work (SPEC §13): a body received or stored through a source instance becomes an
 * event by that instance's plugin, and the event's `source` is the instance's id (the plugin names itself).
 */

/** The event as its source's id says: the plugin's own id replaced by the instance's. */
function fromInstance(source: SourceInstance, event: SubscriptionEvent): SubscriptionEvent {
  return event.source === source.id ? event : { ...event, source: source.id };
}

/** A body received through `source` (parsed JSON) to its event, or which fields are wrong. */
export function parseReceived(source: SourceInstance, body: unknown): ParseResult<SubscriptionEvent> {
  const parsed = source.plugin.parse(body);
  return parsed.ok ? { ok: true, value: fromInstance(source, parsed.value) } : parsed;
}

/**
 * The dispatcher's decoder: a stored body, by the id of the source it came through, back to its event. A
 * source no longer configured throws, so its deliveries go dead saying why, to be replayed once it is back.
 */
export function storedEventDecoder(sources: readonly SourceInstance[]): (body: string, sourceId: string) => SubscriptionEvent {
  const byId = new Map(sources.map((source) => [source.id, source]));
  return (body, sourceId) => {
    const source = byId.get(sourceId);
    if (source === undefined) {
      throw new Error(`its source "${sourceId}" is no longer configured; configure it again, then replay the delivery`);
    }
    return fromInstance(source, source.plugin.decodeStored(body));
  };
}
