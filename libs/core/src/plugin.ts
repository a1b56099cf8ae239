import type { z } from 'zod';
import type { EventKind, SubscriptionEvent } from './event';
import type { Money } from './money';
import type { ConnectionCheck, ErasureHooks } from './account-requests';
import type { HttpResult } from './http';

/** Why an event is not sent to a destination. `rule` is a stable machine code, `reason` is for people. */
export interface Skip {
  readonly rule: string;
  readonly reason: string;
}

/** The destination's user key fields, e.g. `{ objectId: '…' }` or `{ user_id: '…', device_id: '…' }`. */
export type Identity = Readonly<Record<string, string>>;

export interface KindSupport {
  /** The name sent when the operator sets none. */
  readonly defaultName: string;
  /** Optional kinds may be switched off with a null or empty name. */
  readonly optional: boolean;
}

export interface Capabilities {
  /** Most items and bytes (of the request body) one request may carry. */
  readonly batch: { readonly maxItems: number; readonly maxBytes?: number };
  /** The destination's own limit on concurrent requests per account; the engine's cap never exceeds it. */
  readonly maxConcurrency: number;
  readonly negativeRevenue: boolean;
  readonly transfers: boolean;
  /** What happens to sandbox events: sent with separate credentials, dropped, or forwarded like production. */
  readonly sandbox: 'separate-credentials' | 'drop' | 'forward';
  /** The kinds this destination takes; every other kind is skipped. */
  readonly kinds: Readonly<Partial<Record<EventKind, KindSupport>>>;
  /**
   * The plugin can send the user's subscription state (core's `subscriptionStatus`) with events, so the
   * engine runs the ordering guard for it (when `sendsState` allows) and the contract kit checks it honours
   * `Planned.carriesState`.
   */
  readonly subscriptionState?: boolean;
  /**
   * What the fields above cannot say, in a few words of Markdown each, for the README's destinations table
   * (`npm run docs:destinations` generates it from every registered plugin's capabilities).
   */
  readonly summary?: CapabilitiesSummary;
}

export interface CapabilitiesSummary {
  /** Currency and sales-reporting modes, e.g. `USD, 3 sales-reporting modes`. */
  readonly revenue: string;
  /** For `sandbox: 'separate-credentials'`: which settings hold them, e.g. `separate project: \`sandboxApiKey\``. */
  readonly sandbox?: string;
  /** Which subscriber attributes are sent, and as what. */
  readonly attributes: string;
  /** Which user key the destination gets, and from what. */
  readonly identity: string;
}

/** One delivery (event × destination) handed to a plugin to build requests for. */
export interface Planned {
  readonly deliveryId: string;
  readonly event: SubscriptionEvent;
  /**
   * Whether this delivery may carry the subscription state (SPEC §12). The engine's ordering guard sets false
   * when the destination already accepted a newer state for the profile the event is written to: the event
   * still goes, without state. Undefined means yes (preview of one webhook, tests).
   */
  readonly carriesState?: boolean;
  /**
   * The webhook as its source received it, byte for byte (the stored body), for a plugin that forwards it as it
   * is (the webhook destination's `format: "revenuecat"`). The dispatcher always sets it; a preview sets the
   * body it was given; the contract kit, which works from parsed fixtures, does not.
   */
  readonly webhookBody?: string;
}

/**
 * What a plugin may know of the moment its requests are built: they are sent right after. The engine passes its
 * clock; the contract kit passes a fixed time, so the same input still gives byte-identical requests.
 */
export interface RequestContext {
  /** When the requests are built for sending, in milliseconds since the epoch (a signature's timestamp, say). */
  readonly nowMs: number;
}

/**
 * One record of a request body, for requests where a delivery may have more than one (an event and the
 * profile update beside it). Exactly one record of each delivery decides its outcome; the destination's
 * verdict on the others only adds a note.
 */
export interface BodyRecord {
  readonly deliveryId: string;
  /** What the record is (`event`, `profile`, …), to name it in notes. */
  readonly part: string;
  readonly decides: boolean;
  /**
   * This record writes the delivery's subscription state (CleverTap's profile record): the destination's
   * verdict on it, not on the deciding record, tells whether the state was taken (`Outcome.stateAccepted`).
   */
  readonly carriesState?: boolean;
}

/** An HTTP request a plugin wants sent. The engine sends it; plugins never touch the network. */
export interface DeliveryRequest {
  readonly method: 'POST' | 'PUT';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The deliveries this request carries, in the order their items appear in the body. */
  readonly deliveryIds: readonly string[];
  /**
   * The body's records in body order, when a delivery may have several; absent means one record per
   * delivery, in `deliveryIds` order. Batch limits count records.
   */
  readonly records?: readonly BodyRecord[];
  /** Requests with the same key share one concurrency cap (an account, an API key). Never a secret. */
  readonly concurrencyKey: string;
  /** What the plugin left out of this request and why (an oversized property, say); the engine logs them. */
  readonly warnings?: readonly string[];
}

/**
 * The result for one delivery. Every delivery in a request gets exactly one. `stateAccepted` says whether
 * the destination took the subscription state the delivery carried, when a record of its own carried it
 * (`BodyRecord.carriesState`); without it, the state was taken exactly when the outcome is `delivered`.
 */
export type Outcome = OutcomeOfType & { readonly stateAccepted?: boolean };

type OutcomeOfType =
  | {
      readonly deliveryId: string;
      readonly type: 'delivered';
      readonly status?: number;
      /** What went wrong with a record that does not decide the delivery (a rejected profile update); kept with the attempt. */
      readonly note?: string;
    }
  | {
      readonly deliveryId: string;
      readonly type: 'retry';
      readonly reason: string;
      readonly status?: number;
      readonly retryAfterMs?: number;
    }
  | { readonly deliveryId: string; readonly type: 'rejected'; readonly code: string; readonly reason: string; readonly status?: number }
  | { readonly deliveryId: string; readonly type: 'auth_failed'; readonly reason: string; readonly status?: number };

export type OutcomeType = Outcome['type'];

/**
 * A destination plugin: plain data and pure functions. It decides what to send and how to read the
 * answer; the engine owns storage, scheduling, HTTP, retries and dead letters.
 */
export interface DestinationPlugin<S = unknown> {
  /** Stable id used in config (`"plugin": "clevertap"`). */
  readonly id: string;
  readonly displayName: string;
  /** Validates `destinations[].settings`; its issues are reported with their path. */
  readonly settings: z.ZodType<S>;
  /** Top-level settings keys holding secrets; redacted in every output. */
  readonly secrets: readonly string[];
  /** Settings that pass validation, as shown in the docs and used as the no-config example. */
  readonly exampleSettings: S;
  readonly capabilities: Capabilities;

  /** Why this event is not sent, or undefined to send it. Runs at ingest and again before sending. */
  filter(event: SubscriptionEvent, settings: S): Skip | undefined;
  /** The destination's name for the event (only called for events the filter lets through). */
  eventName(event: SubscriptionEvent, settings: S): string;
  /** The revenue to report, after the settings' sales-reporting option and the plugin's sign rules. */
  revenue(event: SubscriptionEvent, settings: S): Money;
  /**
   * Which user the event belongs to, in the destination's own identity fields. Within one account (see
   * `capabilities.sandbox`), it is also the profile the event's subscription state is written to, which the
   * ordering guard keeps one order for (SPEC §12).
   */
  identity(event: SubscriptionEvent, settings: S): Identity;
  /**
   * Requests for a batch of deliveries that passed the filter, within `capabilities.batch`. `context` is given by
   * every caller that sends or shows requests; a plugin whose requests do not depend on the time ignores it.
   */
  buildRequests(batch: readonly Planned[], settings: S, context?: RequestContext): DeliveryRequest[];
  /** One outcome per delivery id of `request`, whatever came back. */
  parseResponse(request: DeliveryRequest, result: HttpResult, settings: S): Outcome[];
  /**
   * What is missing for this destination to send at all (credentials not set, for example). A non-empty
   * list keeps its deliveries paused, not dead, until the config is fixed.
   */
  missingConfig?(settings: S): string[];
  /**
   * Whether these settings send the subscription state at all (CleverTap: only with `profileSync`). Absent:
   * whenever `capabilities.subscriptionState` is declared. The engine runs no ordering guard, and holds no
   * delivery back, for a destination that sends none.
   */
  sendsState?(settings: S): boolean;
  /** Deleting a customer at the destination (SPEC §15); absent when its API offers no way to. */
  readonly erasure?: ErasureHooks<S>;
  /** Checking the credentials without changing anything (SPEC §15); absent when its API has no such request. */
  readonly connectionCheck?: ConnectionCheck<S>;
  /**
   * The schemas of the bodies this plugin sends, by name (lower-case letters, digits and `-`): the zod schemas it
   * builds them with. The runner serves each as JSON Schema at `GET /schemas/<name>.json`, for receivers.
   */
  readonly schemas?: Readonly<Record<string, z.ZodType>>;
}

/** A plugin whose settings type is erased, as the engine and runner hold them. */
export type AnyDestinationPlugin = DestinationPlugin<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
