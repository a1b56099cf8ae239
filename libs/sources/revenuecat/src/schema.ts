import { z } from 'zod';
import { EpochMs, MAX_PERCENTAGE, MAX_PRICE, StorableId } from '@ferry/core';

/**
 * RevenueCat's webhook envelope, every documented field (reference/revenuecat-webhooks.md §1–§2).
 * RevenueCat adds fields and event types without a version bump, so objects keep unknown keys and
 * `type`, `store`, `period_type` and the reasons stay open strings. Only what Ferry cannot work without
 * is required: `event.id`, `event.type`, `event.event_timestamp_ms`. Every other field accepts null as
 * well as absence: a 400 makes RevenueCat give up after its retries, so a stray null must not lose an event.
 */

const subscriberAttribute = z.looseObject({
  /** Null or absent means the attribute was deleted. */
  value: z.string().nullish(),
  updated_at_ms: z.number().nullish(),
});

const experiment = z.looseObject({
  experiment_id: z.string().nullish(),
  experiment_variant: z.string().nullish(),
  enrolled_at_ms: z.number().nullish(),
});

const currencyAdjustment = z.looseObject({
  amount: z.number(),
  currency: z.looseObject({
    code: z.string(),
    name: z.string().nullish(),
    description: z.string().nullish(),
  }),
});

/** Bounded so that every revenue computed from them is finite (see `MAX_PRICE`). */
const price = z.number().min(-MAX_PRICE).max(MAX_PRICE).nullish();
const percentage = z.number().min(-MAX_PERCENTAGE).max(MAX_PERCENTAGE).nullish();

export const revenueCatEventSchema = z.looseObject({
  // Common to every event type.
  id: StorableId.min(1),
  type: StorableId.min(1),
  event_timestamp_ms: EpochMs,
  /** Absent when `store` is PROMOTIONAL. */
  app_id: z.string().nullish(),
  /** Absent on TRANSFER. */
  app_user_id: StorableId.nullish(),
  original_app_user_id: z.string().nullish(),
  aliases: z.array(z.string()).nullish(),
  subscriber_attributes: z.record(z.string(), subscriberAttribute).nullish(),
  experiments: z.array(experiment).nullish(),

  // Subscription lifecycle.
  product_id: z.string().nullish(),
  /** PRODUCT_CHANGE only: the product switched to. */
  new_product_id: z.string().nullish(),
  entitlement_ids: z.array(z.string()).nullish(),
  /** Deprecated in favour of `entitlement_ids`. */
  entitlement_id: z.string().nullish(),
  period_type: z.string().nullish(),
  purchased_at_ms: z.number().nullish(),
  expiration_at_ms: z.number().nullish(),
  grace_period_expiration_at_ms: z.number().nullish(),
  auto_resume_at_ms: z.number().nullish(),
  store: z.string().nullish(),
  environment: z.enum(['PRODUCTION', 'SANDBOX']).nullish(),
  is_trial_conversion: z.boolean().nullish(),
  cancel_reason: z.string().nullish(),
  expiration_reason: z.string().nullish(),
  presented_offering_id: z.string().nullish(),
  /** In USD; negative for refunds. */
  price,
  price_in_purchased_currency: price,
  currency: z.string().nullish(),
  tax_percentage: percentage,
  commission_percentage: percentage,
  /** Deprecated. */
  takehome_percentage: z.number().nullish(),
  transaction_id: z.string().nullish(),
  original_transaction_id: z.string().nullish(),
  is_family_share: z.boolean().nullish(),
  country_code: z.string().nullish(),
  offer_code: z.string().nullish(),
  renewal_number: z.number().nullish(),
  transferred_from: z.array(z.string()).nullish(),
  transferred_to: z.array(z.string()).nullish(),
  /** Web Billing custom metadata and UTM parameters. */
  metadata: z.record(z.string(), z.unknown()).nullish(),

  // VIRTUAL_CURRENCY_TRANSACTION.
  adjustments: z.array(currencyAdjustment).nullish(),
  product_display_name: z.string().nullish(),
  purchase_environment: z.string().nullish(),
  source: z.string().nullish(),
  virtual_currency_transaction_id: z.string().nullish(),

  // EXPERIMENT_ENROLLMENT: the docs' table says `enrolled_at_ms`, their sample `experiment_enrolled_at_ms`.
  experiment_id: z.string().nullish(),
  experiment_variant: z.string().nullish(),
  offering_id: z.string().nullish(),
  experiment_enrolled_at_ms: z.number().nullish(),
  enrolled_at_ms: z.number().nullish(),
});

export const revenueCatWebhookSchema = z.looseObject({
  api_version: z.string().nullish(),
  event: revenueCatEventSchema,
});

export type RevenueCatEvent = z.infer<typeof revenueCatEventSchema>;
export type RevenueCatWebhook = z.infer<typeof revenueCatWebhookSchema>;
