import { z } from 'zod';
import { MIN_SECRET_LENGTH, credentialOf, secret } from '@ferry/core';

/** One RevenueCat project's webhook: the `Authorization` header value set in its integration settings. */
export const revenueCatSettings = z
  .object({
    authorization: secret(
      z
        .string()
        .min(1)
        .refine((value) => credentialOf(value).length >= MIN_SECRET_LENGTH, {
          error: `its credential (after a scheme such as "Bearer ") must be at least ${MIN_SECRET_LENGTH} characters: a shorter value could occur by chance in logs and errors, so it could not be reliably redacted`,
        }),
      ['value', 'credential'],
    )
      .optional()
      .describe(
        `The exact \`Authorization\` header value configured in RevenueCat's webhook integration, compared in constant time. Its credential (after \`Bearer \`) must be at least ${MIN_SECRET_LENGTH} characters. Required when \`server.host\` is not loopback.`,
      ),
  })
  .strict();

export type RevenueCatSettings = z.output<typeof revenueCatSettings>;

/** A webhook as RevenueCat posts it (abridged from its documented INITIAL_PURCHASE sample). */
export const EXAMPLE_WEBHOOK = {
  api_version: '1.0',
  event: {
    id: 'CDD3E5B1-9C5A-4F0E-8A1B-EXAMPLE00001',
    type: 'INITIAL_PURCHASE',
    event_timestamp_ms: 1_765_000_000_000,
    app_user_id: 'user-1234',
    original_app_user_id: 'user-1234',
    aliases: ['user-1234'],
    app_id: 'app1a2b3c4d5',
    environment: 'PRODUCTION',
    store: 'APP_STORE',
    period_type: 'NORMAL',
    product_id: 'com.example.pro.monthly',
    entitlement_ids: ['pro'],
    purchased_at_ms: 1_765_000_000_000,
    expiration_at_ms: 1_767_678_400_000,
    price: 9.99,
    price_in_purchased_currency: 9.99,
    currency: 'USD',
    tax_percentage: 0,
    commission_percentage: 0.15,
    country_code: 'US',
    transaction_id: '1000000000000001',
    original_transaction_id: '1000000000000001',
    subscriber_attributes: { $email: { value: 'user@example.com', updated_at_ms: 1_765_000_000_000 } },
  },
} as const;
