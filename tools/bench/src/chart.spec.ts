import { niceCeiling, scalingChart } from './chart';

describe('scalingChart', () => {
  const svg = scalingChart(
    [
      {
        label: 'SQLite',
        points: [
          { storedEvents: 10_000, perSecond: 4_000, peakRssMb: 150 },
          { storedEvents: 1_000_000, perSecond: 2_000, peakRssMb: 180 },
        ],
      },
      { label: 'Postgres <pg>', points: [{ storedEvents: 10_000, perSecond: 3_000, peakRssMb: null }] },
    ],
    250,
  );
  const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((match) =>
    match[1].split(' ').map((point) => point.split(',').map(Number)),
  );

  it('draws one line per series in each panel, leaving out missing values', () => {
    // Rate panel: SQLite (2 points), Postgres (1); memory panel: SQLite only (Postgres has no RSS).
    expect(polylines.map((points) => points.length)).toEqual([2, 1, 2]);
  });

  it('puts more stored events further right and a higher rate higher up', () => {
    const [[first, second]] = polylines;
    expect(second[0]).toBeGreaterThan(first[0]);
    expect(second[1]).toBeGreaterThan(first[1]); // 2,000/s is below 4,000/s: a larger y in SVG
  });

  it('marks the memory target and escapes labels', () => {
    expect(svg).toContain('target 250');
    expect(svg).toContain('Postgres &lt;pg&gt;');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });
});

describe('niceCeiling', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    expect([0.7, 1, 1.2, 3, 7, 4_100, 250].map(niceCeiling)).toEqual([1, 1, 2, 5, 10, 5_000, 500]);
  });
});

describe('axis labels', () => {
  const labels = (svg: string) => [...svg.matchAll(/<text x="58" y="[\d.]+" text-anchor="end">([^<]+)<\/text>/g)].map((match) => match[1]);

  it('are round numbers from 0 to the rounded-up maximum', () => {
    const svg = scalingChart([{ label: 'A', points: [{ storedEvents: 10, perSecond: 4_300, peakRssMb: 170 }] }], 250);
    const [rate, memory] = [labels(svg).slice(0, 6), labels(svg).slice(6)];
    expect(rate).toEqual(['0', '1k', '2k', '3k', '4k', '5k']);
    expect(memory).toEqual(['0', '100', '200', '300', '400', '500']);
  });
});
