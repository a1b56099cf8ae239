import { createHmac } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import { z } from 'zod';
import {
  describeGoldenCatalogue,
  fixture,
  fixtureEvent,
  KIT_REQUEST_CONTEXT,
  verifyStandardWebhook,
  type FixtureName,
} from '@ferry/testkit';
import { FerryEvent } from './ferry-event';
import { webhookPlugin } from './plugin';
import { WebhookSettings } from './settings';

// Golden requests for the whole fixture catalogue, written by hand from SPEC §16 and the Standard Webhooks
// specification: what each fixture becomes (type, status, revenue) is listed here; the rest of each body is read
// from the RevenueCat webhook's own fields, by the mapping the README documents, not by the plugin's code.

/** The Standard Webhooks libraries' own test secret (reference.md §3). */
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const URL = 'https://billing.example.com/hooks/ferry';
const settings = WebhookSettings.parse({ url: URL, secret: SECRET });

interface Sent {
  readonly type: string;
  readonly status: string | null;
  readonly amount: number;
  readonly currency: string;
}

const send = (type: string, status: string | null, amount: number, currency: string) => ({ send: { type, status, amount, currency } });
const renewal = send('subscription.renewal', 'active', 9.99, 'USD');
const purchase = send('subscription.initial_purchase', 'active', 9.99, 'USD');

const expected: Record<FixtureName, { skip: string } | { send: Sent }> = {
  initial_purchase: purchase,
  trial_started: send('subscription.trial_started', 'trial', 0, 'EUR'),
  trial_converted: send('subscription.trial_converted', 'active', 49.99, 'EUR'),
  trial_cancelled: send('subscription.trial_cancelled', 'cancelled_trial', 0, 'EUR'),
  renewal,
  cancellation: send('subscription.cancellation', 'cancelled', 0, 'USD'),
  refund: send('subscription.cancellation', 'cancelled', -9.99, 'USD'),
  uncancellation: send('subscription.uncancellation', 'active', 0, 'USD'),
  non_renewing_purchase: send('subscription.non_subscription_purchase', null, 399, 'INR'),
  expiration: send('subscription.expiration', 'expired', 0, 'USD'),
  billing_issue: send('subscription.billing_issue', 'grace_period', 0, 'USD'),
  product_change: send('subscription.product_change', null, 0, 'USD'),
  transfer: { skip: 'transfer_not_supported' },
  test: { skip: 'unsupported_type' },
  sandbox_initial_purchase: purchase, // forwarded, `environment: SANDBOX` says so
  subscription_paused: send('subscription.subscription_paused', 'paused', 0, 'USD'),
  subscription_extended: { skip: 'unsupported_type' },
  temporary_entitlement_grant: { skip: 'unsupported_type' },
  refund_reversed: { skip: 'unsupported_type' },
  invoice_issuance: { skip: 'unsupported_type' },
  virtual_currency_transaction: { skip: 'unsupported_type' },
  experiment_enrollment: { skip: 'unsupported_type' },
  unknown_type: { skip: 'unsupported_type' },
  promotional_cancellation: send('subscription.cancellation', 'cancelled', 0, 'USD'),
  null_prices: send('subscription.initial_purchase', 'active', 0, 'USD'),
  usd_fallback: send('subscription.renewal', 'active', 4.99, 'USD'),
  jpy_purchase: send('subscription.initial_purchase', 'active', 1200, 'JPY'),
  intro_offer: send('subscription.initial_purchase', 'intro', 1.99, 'USD'),
  long_attributes: renewal,
  clevertap_id_camel_case: renewal,
  without_clevertap_id: renewal,
  empty_clevertap_id: renewal,
};

const KIND_OF_TYPE: Record<string, string> = { non_renewing_purchase: 'non_subscription_purchase' };
const iso = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

/** The `ferry` body of a fixture, from its RevenueCat fields (README, "The ferry format"). */
function ferryBody(name: FixtureName, sent: Sent): unknown {
  const e = fixture(name).webhook.event as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const kind = sent.type.replace('subscription.', '');
  return {
    type: sent.type,
    timestamp: iso(e['event_timestamp_ms']),
    data: {
      id: e['id'],
      source: 'revenuecat',
      kind: KIND_OF_TYPE[kind] ?? kind,
      sourceType: e['type'],
      appUserId: e['app_user_id'],
      originalAppUserId: e['original_app_user_id'] ?? null,
      aliases: e['aliases'] ?? [],
      appId: e['app_id'] ?? null,
      environment: e['environment'],
      store: e['store'] ?? null,
      productId: e['product_id'] ?? null,
      newProductId: e['new_product_id'] ?? null,
      periodType: e['period_type'] ?? null,
      revenue: { amount: sent.amount, currency: sent.currency, salesReporting: 'gross' },
      subscriptionStatus: sent.status,
      entitlementIds: e['entitlement_ids'] ?? (e['entitlement_id'] ? [e['entitlement_id']] : []),
      purchasedAt: iso(e['purchased_at_ms']),
      expiresAt: iso(e['expiration_at_ms']),
      cancelReason: e['cancel_reason'] ?? null,
      expirationReason: e['expiration_reason'] ?? null,
      attributes: Object.fromEntries(
        Object.entries((e['subscriber_attributes'] ?? {}) as Record<string, { value: string }>).map(([key, { value }]) => [key, value]),
      ),
    },
  };
}

const TIMESTAMP = Math.floor(KIT_REQUEST_CONTEXT.nowMs / 1000);

function signed(id: string, body: string): string {
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${TIMESTAMP}.${body}`).digest('base64')}`;
}

describeGoldenCatalogue(webhookPlugin, {
  settings,
  expected,
  where: () => URL,
  requests: (sends) =>
    sends.map(({ deliveryId, send: sent }) => {
      const name = deliveryId.replace(/^golden-/, '') as FixtureName;
      const body = ferryBody(name, sent);
      const id = `msg_${deliveryId}`;
      return {
        method: 'POST',
        url: URL,
        headers: {
          'Content-Type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(TIMESTAMP),
          'webhook-signature': signed(id, JSON.stringify(body)),
        },
        body,
        deliveryIds: [deliveryId],
        concurrencyKey: 'webhook',
      };
    }),
});

describe('every golden body', () => {
  const sent = (Object.keys(expected) as FixtureName[]).filter((name) => 'send' in expected[name]);
  const requestFor = (name: FixtureName) =>
    webhookPlugin.buildRequests([{ deliveryId: `golden-${name}`, event: fixtureEvent(name) }], settings, KIT_REQUEST_CONTEXT)[0];

  it('is valid against the JSON Schema generated from the plugin’s own zod schema', () => {
    const validate = new Ajv2020({ strict: true, allErrors: true })
      .addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      .compile(z.toJSONSchema(FerryEvent, { io: 'output' }));
    for (const name of sent) {
      const body: unknown = JSON.parse(requestFor(name).body);
      expect([name, validate(body), validate.errors ?? []]).toEqual([name, true, []]);
      expect(FerryEvent.parse(body)).toEqual(body);
    }
  });

  it('verifies as a receiver would check it: the Standard Webhooks verifier of the testkit', () => {
    for (const name of sent) {
      const request = requestFor(name);
      expect(verifyStandardWebhook(request, { secrets: [SECRET], nowMs: KIT_REQUEST_CONTEXT.nowMs })).toMatchObject({
        ok: true,
        id: `msg_golden-${name}`,
        matchedSecrets: [0],
      });
    }
  });
});
