import { MAX_EPOCH_MS } from '@ferry/core';
import { revenueCatSource, revenueCatWebhookSchema, revenueCatWebhookValidator, toSubscriptionEvent } from './index';

// The webhook schema's compiled validator must accept exactly what zod accepts. Each refinement at its edges
// here; libs/testkit's webhook-validator.spec.ts mutates every fixture field by field.

const minimal = { id: 'evt-1', type: 'RENEWAL', event_timestamp_ms: 1740823202000 };
const webhook = (fields: Record<string, unknown>) => ({ api_version: '1.0', event: { ...minimal, ...fields } });

function verdicts(body: unknown): { compiled: boolean; zod: boolean } {
  return { compiled: revenueCatWebhookValidator.accepts(body), zod: revenueCatWebhookSchema.safeParse(body).success };
}

const idFields = ['id', 'type', 'app_user_id'] as const;
const priceFields = ['price', 'price_in_purchased_currency'] as const;
const percentageFields = ['tax_percentage', 'commission_percentage'] as const;

describe('the compiled webhook validator and zod agree on each refinement', () => {
  it.each(
    idFields.flatMap((field) => [
      [field, 'plain text', 'evt-x', true],
      [field, 'an astral character', 'evt-😀', true],
      [field, '512 characters', 'i'.repeat(512), true],
      [field, '512 astral characters', '😀'.repeat(512), true],
      [field, '513 characters', 'i'.repeat(513), false],
      [field, 'U+0000', 'evt\u0000', false],
      [field, 'a lone high surrogate', 'evt\ud83d', false],
      [field, 'a lone low surrogate', '\ude00evt', false],
      [field, 'a number', 42, false],
      [field, 'an object', { id: 'x' }, false],
    ]),
  )('%s: %s', (field, _case, value, accepted) => {
    expect(verdicts(webhook({ [field]: value }))).toEqual({ compiled: accepted, zod: accepted });
  });

  it.each([
    ['id', ''],
    ['type', ''],
    ['id', null],
    ['type', null],
    ['id', undefined],
    ['event_timestamp_ms', undefined],
  ])('refuses %s as %j (required, not empty)', (field, value) => {
    expect(verdicts(webhook({ [field]: value }))).toEqual({ compiled: false, zod: false });
  });

  it.each([
    ['an empty user id', { app_user_id: '' }],
    ['a null user id', { app_user_id: null }],
  ])('accepts %s', (_case, fields) => {
    expect(verdicts(webhook(fields))).toEqual({ compiled: true, zod: true });
  });

  it.each([
    ['zero', 0, true],
    ['the last date', MAX_EPOCH_MS, true],
    ['the first date', -MAX_EPOCH_MS, true],
    ['one ms past the last date', MAX_EPOCH_MS + 1, false],
    ['one ms before the first date', -MAX_EPOCH_MS - 1, false],
    ['a fraction', 1740823202000.5, false],
    ['beyond BIGINT', 1e19, false],
    ['a numeric string', '1740823202000', false],
    ['null', null, false],
    ['NaN (not JSON, but parse takes any value)', NaN, false],
    ['Infinity', Infinity, false],
  ])('event_timestamp_ms: %s', (_case, value, accepted) => {
    expect(verdicts(webhook({ event_timestamp_ms: value }))).toEqual({ compiled: accepted, zod: accepted });
  });

  it.each(
    priceFields.flatMap((field) => [
      [field, 1e12, true],
      [field, -1e12, true],
      [field, 1e12 + 0.5, false],
      [field, -1e12 - 0.5, false],
      [field, 1e308, false],
      [field, 9.99, true],
      [field, null, true],
      [field, '9.99', false],
      [field, NaN, false],
    ]),
  )('%s: %j', (field, value, accepted) => {
    expect(verdicts(webhook({ [field]: value }))).toEqual({ compiled: accepted, zod: accepted });
  });

  it.each(
    percentageFields.flatMap((field) => [
      [field, 100, true],
      [field, -100, true],
      [field, 100.000001, false],
      [field, -100.000001, false],
      [field, 0.3, true],
      [field, null, true],
      [field, Infinity, false],
    ]),
  )('%s: %j', (field, value, accepted) => {
    expect(verdicts(webhook({ [field]: value }))).toEqual({ compiled: accepted, zod: accepted });
  });
});

describe('parse with the compiled validator', () => {
  it("gives the event zod's output gives, its raw being the body's event itself", () => {
    const body = webhook({
      app_user_id: 'user-1',
      subscriber_attributes: { $email: { value: 'ana@example.com', updated_at_ms: 1, extra: [1] } },
      unknown_field: { nested: true },
    });
    const parsed = revenueCatSource.parse(body);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.raw).toBe(body.event);
    expect(parsed.value).toEqual(toSubscriptionEvent(revenueCatWebhookSchema.parse(body)));
  });

  it("answers a refusal with zod's issues, as before", () => {
    const body = webhook({ id: 'e\u0000', event_timestamp_ms: 0.5, price: 1e13 });
    expect(revenueCatSource.parse(body)).toEqual({
      ok: false,
      issues: [
        { path: 'event.id', message: 'must be valid Unicode without U+0000 characters' },
        { path: 'event.event_timestamp_ms', message: 'must be whole milliseconds within the range of a date' },
        { path: 'event.price', message: 'must be at most 1000000000000' },
      ],
    });
  });
});
