import { classify } from './index';

// SPEC §3, one test per row: each fails if its rule breaks.
describe('classify (SPEC §3)', () => {
  it('INITIAL_PURCHASE with period_type ≠ TRIAL → initial_purchase', () => {
    for (const period_type of ['NORMAL', 'INTRO', 'PROMOTIONAL', 'PREPAID', null, undefined]) {
      expect(classify({ type: 'INITIAL_PURCHASE', period_type })).toBe('initial_purchase');
    }
  });

  it('INITIAL_PURCHASE with period_type TRIAL → trial_started', () => {
    expect(classify({ type: 'INITIAL_PURCHASE', period_type: 'TRIAL' })).toBe('trial_started');
  });

  it('RENEWAL with is_trial_conversion → trial_converted', () => {
    expect(classify({ type: 'RENEWAL', is_trial_conversion: true, period_type: 'NORMAL' })).toBe('trial_converted');
  });

  it('RENEWAL otherwise → renewal', () => {
    expect(classify({ type: 'RENEWAL', is_trial_conversion: false })).toBe('renewal');
    expect(classify({ type: 'RENEWAL' })).toBe('renewal');
    expect(classify({ type: 'RENEWAL', period_type: 'TRIAL' })).toBe('renewal');
  });

  it('CANCELLATION with period_type TRIAL → trial_cancelled', () => {
    expect(classify({ type: 'CANCELLATION', period_type: 'TRIAL' })).toBe('trial_cancelled');
  });

  it('CANCELLATION otherwise → cancellation, refunds included', () => {
    expect(classify({ type: 'CANCELLATION', period_type: 'NORMAL' })).toBe('cancellation');
    expect(classify({ type: 'CANCELLATION', period_type: 'PROMOTIONAL' })).toBe('cancellation');
    expect(classify({ type: 'CANCELLATION' })).toBe('cancellation');
  });

  it('UNCANCELLATION → uncancellation', () => {
    expect(classify({ type: 'UNCANCELLATION', period_type: 'TRIAL' })).toBe('uncancellation');
  });

  it('NON_RENEWING_PURCHASE → non_subscription_purchase', () => {
    expect(classify({ type: 'NON_RENEWING_PURCHASE' })).toBe('non_subscription_purchase');
  });

  it('EXPIRATION → expiration', () => {
    expect(classify({ type: 'EXPIRATION', period_type: 'TRIAL' })).toBe('expiration');
  });

  it('BILLING_ISSUE → billing_issue', () => {
    expect(classify({ type: 'BILLING_ISSUE' })).toBe('billing_issue');
  });

  it('PRODUCT_CHANGE → product_change', () => {
    expect(classify({ type: 'PRODUCT_CHANGE' })).toBe('product_change');
  });

  it('SUBSCRIPTION_PAUSED → subscription_paused', () => {
    expect(classify({ type: 'SUBSCRIPTION_PAUSED' })).toBe('subscription_paused');
  });

  it.each([
    'TEST',
    'TRANSFER',
    'SUBSCRIPTION_EXTENDED',
    'TEMPORARY_ENTITLEMENT_GRANT',
    'REFUND_REVERSED',
    'INVOICE_ISSUANCE',
    'VIRTUAL_CURRENCY_TRANSACTION',
    'EXPERIMENT_ENROLLMENT',
    'SUBSCRIBER_ALIAS',
    'SUBSCRIPTION_TELEPORTED',
  ])('%s → null (kept, sent nowhere)', (type) => {
    expect(classify({ type, period_type: 'TRIAL', is_trial_conversion: true })).toBeNull();
  });
});
