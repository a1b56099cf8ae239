import { tallySoak } from './soak-tally';

describe('tallySoak', () => {
  const stored = ['a', 'b', 'c', 'd'];

  it('counts each accepted event once as delivered, and every further record as a duplicate', () => {
    const tally = tallySoak({
      acceptedIds: ['a', 'b', 'c'],
      recordEventIds: ['a', 'b', 'a', 'c', 'a'],
      deadEventIds: [],
      storedEventIds: stored,
    });
    expect(tally).toEqual({ accepted: 3, delivered: 3, duplicated: 2, dead: 0, lost: 0, lostExamples: [] });
  });

  it('counts an accepted event that is dead as accounted for, not lost', () => {
    const tally = tallySoak({ acceptedIds: ['a', 'b'], recordEventIds: ['a'], deadEventIds: ['b'], storedEventIds: stored });
    expect(tally).toMatchObject({ delivered: 1, dead: 1, lost: 0 });
  });

  it('counts an accepted event neither delivered nor dead as lost', () => {
    const tally = tallySoak({ acceptedIds: ['a', 'b', 'c'], recordEventIds: ['a'], deadEventIds: ['b'], storedEventIds: stored });
    expect(tally).toMatchObject({ lost: 1, lostExamples: ['c'] });
  });

  it('counts an accepted event missing from the store as lost, even when it was delivered', () => {
    const tally = tallySoak({ acceptedIds: ['a', 'x'], recordEventIds: ['a', 'x'], deadEventIds: [], storedEventIds: stored });
    expect(tally).toMatchObject({ delivered: 2, lost: 1, lostExamples: ['x'] });
  });

  it('ignores records and dead deliveries of events it never accepted', () => {
    const tally = tallySoak({ acceptedIds: ['a'], recordEventIds: ['a', 'z'], deadEventIds: ['y'], storedEventIds: stored });
    expect(tally).toMatchObject({ accepted: 1, delivered: 1, duplicated: 0, dead: 0, lost: 0 });
  });
});
