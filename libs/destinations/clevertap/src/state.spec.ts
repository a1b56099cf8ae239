import type { HttpResult, Planned, SubscriptionEvent } from '@ferry/core';
import { fixtureEvent } from '@ferry/testkit';
import { clevertapPlugin as plugin } from './plugin';
import { CleverTapSettings } from './settings';

const settings = (input: object = {}) => CleverTapSettings.parse({ accountId: 'ACC', passcode: 'PASS', ...input });
const both = settings({ profileSync: true, chargedEvent: true });
const records = (batch: readonly Planned[], s = both) => plugin.buildRequests(batch, s).flatMap((request) => JSON.parse(request.body).d);
const purchase = fixtureEvent('initial_purchase');
const ok = (body: unknown): HttpResult => ({ kind: 'response', status: 200, headers: {}, body: JSON.stringify(body) });

describe('profileSync (SPEC §12)', () => {
  it('follows the event with a profile record for the same user key and time', () => {
    const [event, profile] = records([{ deliveryId: 'd1', event: purchase }], settings({ profileSync: true }));
    expect(event).toMatchObject({ type: 'event', evtName: 'rc_initial_purchase_event' });
    expect(profile).toEqual({
      type: 'profile',
      ts: event.ts,
      objectId: event.objectId,
      profileData: {
        rc_subscription_status: 'active',
        rc_product_id: 'com.example.pro.monthly',
        rc_store: 'APP_STORE',
        rc_entitlements: ['pro'],
        rc_expires_at: `$D_${Math.floor((purchase.expirationAtMs as number) / 1000)}`,
      },
    });
  });

  it('keys the profile by identity when the event is, sends [] without entitlements and no date without an expiration', () => {
    const bare: SubscriptionEvent = { ...fixtureEvent('without_clevertap_id'), entitlementIds: [], expirationAtMs: null };
    const [event, profile] = records([{ deliveryId: 'd1', event: bare }], settings({ profileSync: true }));
    expect(profile.identity).toBe(event.identity);
    expect(profile).not.toHaveProperty('objectId');
    expect(profile.profileData.rc_entitlements).toEqual([]);
    expect(profile.profileData).not.toHaveProperty('rc_expires_at');
  });

  it('sends state only with profileSync on, so the engine guards the order only then', () => {
    expect(plugin.sendsState!(settings({ profileSync: true }))).toBe(true);
    expect(plugin.sendsState!(settings())).toBe(false);
  });

  it('sends no profile when the guard withholds the state, when the event sets none, or when off', () => {
    expect(records([{ deliveryId: 'd1', event: purchase, carriesState: false }], settings({ profileSync: true }))).toHaveLength(1);
    expect(records([{ deliveryId: 'd1', event: fixtureEvent('product_change') }], settings({ profileSync: true }))).toHaveLength(1);
    expect(records([{ deliveryId: 'd1', event: purchase }], settings())).toHaveLength(1);
    expect(plugin.buildRequests([{ deliveryId: 'd1', event: purchase }], settings())[0]).not.toHaveProperty('records');
  });
});

describe('chargedEvent (SPEC §12)', () => {
  it('adds Charged with the rc_ event’s amount for positive revenue, and keeps the rc_ event', () => {
    const [event, charged] = records([{ deliveryId: 'd1', event: purchase }], settings({ chargedEvent: true }));
    expect(event.evtName).toBe('rc_initial_purchase_event');
    expect(charged).toEqual({
      type: 'event',
      evtName: 'Charged',
      ts: event.ts,
      objectId: event.objectId,
      evtData: {
        Amount: event.evtData.amount,
        Currency: event.evtData.currency,
        'Charged ID': purchase.id,
        Items: [{ product_id: purchase.productId, Quantity: 1 }],
      },
    });
  });

  it('sends no Charged for zero revenue (a trial) or a refund (sent as 0)', () => {
    expect(records([{ deliveryId: 'd1', event: fixtureEvent('trial_started') }], settings({ chargedEvent: true }))).toHaveLength(1);
    expect(records([{ deliveryId: 'd1', event: fixtureEvent('refund') }], settings({ chargedEvent: true }))).toHaveLength(1);
  });
});

describe('several records per delivery', () => {
  it('maps each record to its delivery; only the rc_ event decides', () => {
    const [request] = plugin.buildRequests([{ deliveryId: 'd1', event: purchase }], both);
    expect(request.deliveryIds).toEqual(['d1']);
    expect(request.records).toEqual([
      { deliveryId: 'd1', part: 'event', decides: true },
      { deliveryId: 'd1', part: 'Charged', decides: false },
      { deliveryId: 'd1', part: 'profile', decides: false, carriesState: true },
    ]);
  });

  it('counts records, not deliveries, against the 1000-record limit, never splitting a delivery', () => {
    const batch = Array.from({ length: 400 }, (_, i): Planned => ({ deliveryId: `d${i}`, event: { ...purchase, id: `e${i}` } }));
    const requests = plugin.buildRequests(batch, both);
    expect(requests.map((request) => JSON.parse(request.body).d.length)).toEqual([999, 201]);
    expect(requests.map((request) => request.deliveryIds.length)).toEqual([333, 67]);
  });

  const [request] = plugin.buildRequests(
    [
      { deliveryId: 'd1', event: purchase },
      { deliveryId: 'd2', event: { ...purchase, id: 'other' } },
    ],
    both,
  );
  const unprocessed = (n: number, code: number) => ({
    status: 'fail',
    code,
    error: `Bad. ErrorCode: ${code} - x. Skipped record number : ${n}`,
  });

  it('a rejected profile or Charged record leaves its event delivered, with a note; only a rejected profile means the state was not taken', () => {
    const outcomes = plugin.parseResponse(
      request,
      ok({ status: 'partial', unprocessed: [unprocessed(3, 512), unprocessed(5, 555)] }),
      both,
    );
    expect(outcomes).toEqual([
      {
        deliveryId: 'd1',
        type: 'delivered',
        status: 200,
        note: 'profile record not taken: clevertap_512: Bad. ErrorCode: 512 - x. Skipped record number : 3',
        stateAccepted: false,
      },
      {
        deliveryId: 'd2',
        type: 'delivered',
        status: 200,
        note: 'Charged record not taken: Bad. ErrorCode: 555 - x. Skipped record number : 5',
        stateAccepted: true,
      },
    ]);
  });

  it('a rejected rc_ event is its delivery’s outcome, whatever became of the records beside it', () => {
    const outcomes = plugin.parseResponse(request, ok({ status: 'partial', unprocessed: [unprocessed(4, 509)] }), both);
    expect(outcomes.map((outcome) => [outcome.deliveryId, outcome.type])).toEqual([
      ['d1', 'delivered'],
      ['d2', 'rejected'],
    ]);
    expect(outcomes[0]).not.toHaveProperty('note');
    // CleverTap took d2's profile record: its state is there, though the event is refused.
    expect(outcomes.map((outcome) => outcome.stateAccepted)).toEqual([true, true]);
  });
});
