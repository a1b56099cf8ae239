import { EVENT_KINDS, subscriptionStatus, type EventKind, type SubscriptionEvent, type SubscriptionStatus } from './index';

/** Only the fields the derivation reads; core cannot use testkit's fixtures. */
function event(kind: EventKind | null, periodType: string | null = 'NORMAL', store: string | null = 'APP_STORE'): SubscriptionEvent {
  return { kind, periodType, store } as SubscriptionEvent;
}

// SPEC §12: the status an event leaves the user in, in RevenueCat's rc_subscription_status vocabulary.
const CASES: readonly [string, SubscriptionStatus | undefined, SubscriptionEvent][] = [
  ['a trial start', 'trial', event('trial_started', 'TRIAL')],
  ['a trial conversion', 'active', event('trial_converted')],
  ['a trial cancellation', 'cancelled_trial', event('trial_cancelled', 'TRIAL')],
  ['a paid first purchase', 'active', event('initial_purchase')],
  ['a first purchase at an intro price', 'intro', event('initial_purchase', 'INTRO')],
  ['a first purchase that starts a trial', 'trial', event('initial_purchase', 'TRIAL')],
  ['a promotional grant (period type)', 'promotional', event('initial_purchase', 'PROMOTIONAL')],
  ['a promotional grant (store)', 'promotional', event('initial_purchase', 'NORMAL', 'PROMOTIONAL')],
  ['a renewal', 'active', event('renewal')],
  ['a renewal at an intro price', 'intro', event('renewal', 'INTRO')],
  ['a renewal of a promotional grant', 'promotional', event('renewal', 'PROMOTIONAL', 'PROMOTIONAL')],
  ['an uncancellation', 'active', event('uncancellation')],
  ['an uncancellation during a trial', 'trial', event('uncancellation', 'TRIAL')],
  ['an uncancellation of a promotional grant', 'promotional', event('uncancellation', 'NORMAL', 'PROMOTIONAL')],
  ['a cancellation', 'cancelled', event('cancellation')],
  ['an expiration', 'expired', event('expiration')],
  ['the end of a promotional grant (period type)', 'expired_promotional', event('expiration', 'PROMOTIONAL')],
  ['the end of a promotional grant (store)', 'expired_promotional', event('expiration', 'NORMAL', 'PROMOTIONAL')],
  ['a billing issue', 'grace_period', event('billing_issue')],
  ['a billing issue during a trial', 'grace_period_trial', event('billing_issue', 'TRIAL')],
  ['a pause', 'paused', event('subscription_paused')],
  ['a purchase that is not a subscription', undefined, event('non_subscription_purchase')],
  ['a product change (the new product starts at renewal)', undefined, event('product_change')],
  ['a type no destination takes (TRANSFER, TEST, unknown)', undefined, event(null, null, null)],
  ['a purchase without period type or store', 'active', event('initial_purchase', null, null)],
];

describe('subscriptionStatus', () => {
  it.each(CASES)('%s → %s', (_title, status, given) => {
    expect(subscriptionStatus(given)).toBe(status);
  });

  it('has a case for every event kind, so a new kind needs a decision here', () => {
    const covered = new Set(CASES.map(([, , given]) => given.kind));
    expect(EVENT_KINDS.filter((kind) => !covered.has(kind))).toEqual([]);
  });
});
