import { isRecordIndex, outcomesByIndex, recordIndexOfPart, sameOutcomeForAll, type DeliveryRequest } from './index';

const request: DeliveryRequest = {
  method: 'POST',
  url: 'http://x',
  headers: {},
  body: '',
  deliveryIds: ['d-a', 'd-b', 'd-c'],
  concurrencyKey: 'k',
};

describe('outcomesByIndex', () => {
  it('ties the outcome of the record at each index to the delivery at that position', () => {
    const seen: number[] = [];
    const outcomes = outcomesByIndex(request, (index) => {
      seen.push(index);
      return index === 1 ? { type: 'rejected', status: 200, code: 'bad', reason: 'record 1' } : { type: 'delivered', status: 200 };
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(outcomes).toEqual([
      { deliveryId: 'd-a', type: 'delivered', status: 200 },
      { deliveryId: 'd-b', type: 'rejected', status: 200, code: 'bad', reason: 'record 1' },
      { deliveryId: 'd-c', type: 'delivered', status: 200 },
    ]);
  });

  it('says whether the record carrying a delivery’s state was taken, whatever the deciding record’s outcome', () => {
    // d-a: event taken, profile refused; d-b: event refused, profile taken; d-c: both taken; d-d carries no state.
    const withRecords: DeliveryRequest = {
      ...request,
      deliveryIds: ['d-a', 'd-b', 'd-c', 'd-d'],
      records: ['d-a', 'd-b', 'd-c'].flatMap((deliveryId) => [
        { deliveryId, part: 'event', decides: true },
        { deliveryId, part: 'profile', decides: false, carriesState: true },
      ]),
    };
    const refused = new Set([1, 2]);
    const outcomes = outcomesByIndex(
      { ...withRecords, records: [...withRecords.records!, { deliveryId: 'd-d', part: 'event', decides: true }] },
      (index) =>
        refused.has(index) ? { type: 'rejected', status: 200, code: 'bad', reason: `record ${index}` } : { type: 'delivered', status: 200 },
    );
    expect(outcomes).toEqual([
      { deliveryId: 'd-a', type: 'delivered', status: 200, note: 'profile record not taken: bad: record 1', stateAccepted: false },
      { deliveryId: 'd-b', type: 'rejected', status: 200, code: 'bad', reason: 'record 2', stateAccepted: true },
      { deliveryId: 'd-c', type: 'delivered', status: 200, stateAccepted: true },
      { deliveryId: 'd-d', type: 'delivered', status: 200 },
    ]);
  });

  it('gives every delivery its own outcome object, also when they share one', () => {
    const outcomes = sameOutcomeForAll(request, { type: 'retry', reason: 'timeout' });
    expect(outcomes.map((outcome) => outcome.deliveryId)).toEqual(['d-a', 'd-b', 'd-c']);
    expect(new Set(outcomes).size).toBe(3);
  });
});

describe('isRecordIndex', () => {
  it.each([
    [0, true],
    [2, true],
    [3, false],
    [-1, false],
    [1.5, false],
    ['1', false],
    [null, false],
    [Number.NaN, false],
  ])('%j → %s for a request of three records', (value, expected) => {
    expect(isRecordIndex(request, value)).toBe(expected);
  });
});

describe('recordIndexOfPart', () => {
  const arrays: DeliveryRequest = {
    ...request,
    deliveryIds: ['a', 'b'],
    records: [
      { deliveryId: 'a', part: 'attributes', decides: false },
      { deliveryId: 'b', part: 'attributes', decides: false },
      { deliveryId: 'a', part: 'events', decides: true },
      { deliveryId: 'b', part: 'purchases', decides: true },
    ],
  };

  it.each([
    ['attributes', 1, 1],
    ['events', 0, 2],
    ['purchases', 0, 3],
    ['purchases', 1, undefined],
    ['events', -1, undefined],
    ['events', '0', undefined],
    ['profiles', 0, undefined],
  ])('%s[%j] → body index %j', (part, position, expected) => {
    expect(recordIndexOfPart(arrays, part, position)).toBe(expected);
  });
});
