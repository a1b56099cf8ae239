import type { EventKind, SubscriptionEvent } from '@ferry/core';
import { fixtureEvent } from '@ferry/testkit';
import { subscriptionStatus } from '@ferry/core';
import { buildEvent } from './event';
import { AmplitudeSettings } from './settings';

const settings = AmplitudeSettings.parse({ apiKey: 'event-spec-key' });
const renewal = fixtureEvent('renewal');
const as = (kind: EventKind, more: Partial<SubscriptionEvent> = {}): SubscriptionEvent => ({ ...renewal, kind, ...more });

describe('rc_subscription_status (our reading of RevenueCat’s values, reference/amplitude.md §2.6)', () => {
  it.each([
    ['a trial start', 'trial', as('trial_started', { periodType: 'TRIAL' })],
    ['a trial conversion', 'active', as('trial_converted')],
    ['a trial cancellation', 'cancelled_trial', as('trial_cancelled', { periodType: 'TRIAL' })],
    ['a paid purchase', 'active', as('initial_purchase')],
    ['an intro-offer purchase', 'intro', as('initial_purchase', { periodType: 'INTRO' })],
    ['a promotional grant', 'promotional', as('initial_purchase', { periodType: 'PROMOTIONAL', store: 'PROMOTIONAL' })],
    ['a renewal', 'active', as('renewal')],
    ['an uncancellation during a trial', 'trial', as('uncancellation', { periodType: 'TRIAL' })],
    ['a cancellation', 'cancelled', as('cancellation')],
    ['an expiration', 'expired', as('expiration')],
    ['the end of a promotional grant', 'expired_promotional', as('expiration', { store: 'PROMOTIONAL' })],
    ['a billing issue', 'grace_period', as('billing_issue')],
    ['a billing issue during a trial', 'grace_period_trial', as('billing_issue', { periodType: 'TRIAL' })],
    ['a pause', 'paused', as('subscription_paused')],
  ])('%s → %s', (_, status, event) => {
    expect(subscriptionStatus(event)).toBe(status);
    expect(buildEvent({ deliveryId: 'd', event }, settings).user_properties).toEqual({ rc_subscription_status: status });
  });

  it.each([
    ['a non-subscription purchase', as('non_subscription_purchase')],
    ['a product change', as('product_change')],
  ])('%s leaves the status alone: no user_properties', (_title, event) => {
    expect(subscriptionStatus(event)).toBeUndefined();
    expect(buildEvent({ deliveryId: 'd', event }, settings)).not.toHaveProperty('user_properties');
  });

  it('goes without the status when the ordering guard says a newer state was already sent (SPEC §12)', () => {
    const event = as('cancellation');
    expect(buildEvent({ deliveryId: 'd', event, carriesState: false }, settings)).not.toHaveProperty('user_properties');
    expect(buildEvent({ deliveryId: 'd', event, carriesState: true }, settings).user_properties).toEqual({
      rc_subscription_status: 'cancelled',
    });
  });
});

describe('buildEvent', () => {
  it('sends instants out of Date range as null instead of failing the whole batch', () => {
    const odd = { ...renewal, purchasedAtMs: 1e20, expirationAtMs: Number.NaN };
    const { event_properties } = buildEvent({ deliveryId: 'd', event: odd }, settings);
    expect([event_properties.purchased_at, event_properties.expiration_at]).toEqual([null, null]);
  });

  it('leaves out platform and productId when the webhook gives no store or product', () => {
    const built = buildEvent({ deliveryId: 'd', event: { ...renewal, store: null, productId: null } }, settings);
    expect(built).not.toHaveProperty('platform');
    expect(built).not.toHaveProperty('productId');
    expect(built.event_properties).toMatchObject({ store: null, product_id: null });
  });

  it('takes the platform from its own table only, whatever the store is called', () => {
    for (const store of ['constructor', '__proto__', 'toString', 'TEST_STORE']) {
      expect(buildEvent({ deliveryId: 'd', event: { ...renewal, store } }, settings)).not.toHaveProperty('platform');
    }
  });

  it('always sends an integer time, which Amplitude requires', () => {
    expect(buildEvent({ deliveryId: 'd', event: { ...renewal, timestampMs: 1743501605000.7 } }, settings).time).toBe(1743501605000);
  });
});
