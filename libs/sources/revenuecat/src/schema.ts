import { z } from 'zod';
import { MAX_ID_LENGTH, MAX_PERCENTAGE, MAX_PRICE, isEpochMs } from '@ferry/core';

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

/**
 * Text the stores keep in their own columns. JSON can escape a lone UTF-16 surrogate or U+0000, but
 * UTF-8 storage cannot hold them: a lone surrogate comes back as U+FFFD (the event would be stored under
 * another id, answered as a duplicate and never delivered) and Postgres refuses U+0000 (503 for ever).
 */
const storableText = z.string().refine((text) => !/[\u0000\p{Surrogate}]/u.test(text), {
  error: 'must be valid Unicode without U+0000 characters',
});

/** The indexed text columns: an id, type or user id the store can keep as it is (see `MAX_ID_LENGTH`). */
const storableId = storableText.max(MAX_ID_LENGTH);

/** The event time is kept as BIGINT milliseconds, which holds neither fractions nor values beyond a date. */
const epochMs = z.number().refine(isEpochMs, { error: 'must be whole milliseconds within the range of a date' });

/** Bounded so that every revenue computed from them is finite (see `MAX_PRICE`). */
const price = z.number().min(-MAX_PRICE).max(MAX_PRICE).nullish();
const percentage = z.number().min(-MAX_PERCENTAGE).max(MAX_PERCENTAGE).nullish();

export const revenueCatEventSchema = z.looseObject({
  // Common to every event type.
  id: storableId.min(1),
  type: storableId.min(1),
  event_timestamp_ms: epochMs,
  /** Absent when `store` is PROMOTIONAL. */
  app_id: z.string().nullish(),
  /** Absent on TRANSFER. */
  app_user_id: storableId.nullish(),
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
