import { hotSpots, type CpuProfile } from './profile';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

describe('hotSpots', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('executeQuery', 'file:///work/main/node_modules/kysely/dist/cjs/dialect/sqlite/sqlite-driver.js', 61) },
      { id: 3, callFrame: frame('ingest', '/work/main/libs/store/dist/sql-store.js', 9) },
      { id: 4, callFrame: frame('(idle)', '') },
      // The same function reached through another call path is a second node: its time adds up.
      { id: 5, callFrame: frame('executeQuery', 'file:///work/main/node_modules/kysely/dist/cjs/dialect/sqlite/sqlite-driver.js', 61) },
    ],
    samples: [2, 3, 2, 4, 5, 4],
    timeDeltas: [1_000, 2_000, 3_000, 500, 1_500, 2_000],
  };

  it('sums self time per function over every node and sample, largest first, with shares of all sampled time', () => {
    expect(hotSpots(profile)).toEqual([
      { where: 'executeQuery (kysely/…/sqlite-driver.js:62)', selfMs: 6, percent: 55 },
      { where: '(idle)', selfMs: 3, percent: 25 },
      { where: 'ingest (store/…/sql-store.js:10)', selfMs: 2, percent: 20 },
    ]);
  });

  it('keeps only the top entries', () => {
    expect(hotSpots(profile, 1).map((spot) => spot.where)).toEqual(['executeQuery (kysely/…/sqlite-driver.js:62)']);
  });
});
