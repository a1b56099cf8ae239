import { renderBench, replaceSection, type BackendReport, type BenchReport, type ServerLoadFigures } from './report';

describe('replaceSection', () => {
  const analysis = '# Benchmarks\n\nHand-written analysis.\n';

  it('appends the marked section to a file without one', () => {
    expect(replaceSection(analysis, 'bench', 'figures v1')).toBe(`${analysis}\n<!-- bench:begin -->\nfigures v1\n<!-- bench:end -->\n`);
  });

  it('replaces only the marked section, keeping the text around it and other sections', () => {
    const document = `${analysis}\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nMore analysis.\n\n<!-- soak:begin -->\nsoak\n<!-- soak:end -->\n`;
    const updated = replaceSection(document, 'bench', 'new figures');
    expect(updated).toBe(
      `${analysis}\n<!-- bench:begin -->\nnew figures\n<!-- bench:end -->\n\nMore analysis.\n\n<!-- soak:begin -->\nsoak\n<!-- soak:end -->\n`,
    );
    expect(replaceSection(updated, 'bench', 'new figures')).toBe(updated);
  });

  it('refuses a begin marker without its end rather than guessing', () => {
    expect(() => replaceSection('<!-- bench:begin -->\nhalf', 'bench', 'x')).toThrow(
      '<!-- bench:begin --> has no <!-- bench:end --> after it',
    );
  });
});

/** Load figures as a run records them; only the figures the tables show vary. */
function load(perSecond: number, p99Ms: number, cpuMicrosPerWebhook: number | null, peakRssMb: number): ServerLoadFigures {
  return {
    connections: 64,
    overallRate: null,
    durationS: 15,
    accepted: perSecond * 15,
    failed: 0,
    perSecond,
    count: perSecond * 15,
    p50Ms: 5,
    p99Ms,
    maxMs: 100,
    loadGeneratorCpuPercent: 30,
    serverCpuPercent: 90,
    cpuMicrosPerWebhook,
    peakRssMb,
  };
}

function backend(
  store: BackendReport['store'],
  figures: {
    ingest: number;
    ingestCpu: number;
    delivering: number;
    steadyP99: number;
    endToEndP99: number;
    drain: number;
    drainCpu: number;
    rss: number;
  },
): BackendReport {
  return {
    store,
    description: `${store} store`,
    ingest: load(figures.ingest, 30, figures.ingestCpu, 190),
    ingestDelivering: load(figures.delivering, 50, 380, 200),
    steady: {
      ...load(998, figures.steadyP99, 850, 195),
      connections: 8,
      overallRate: 1000,
      endToEnd: { count: 20_000, p50Ms: 20, p99Ms: figures.endToEndP99, maxMs: 90, notDelivered: 0 },
    },
    drain: {
      events: 100_000,
      seconds: Math.round((100_000 / figures.drain) * 100) / 100,
      perSecond: figures.drain,
      runnerCpuPercent: 100,
      cpuMicrosPerEvent: figures.drainCpu,
      fill: { events: 100_000, seconds: 8.55, perSecond: 11_693 },
    },
    scaling: [
      {
        storedEvents: 10_000,
        fill: { events: 10_000, seconds: 0.54, perSecond: 18_604 },
        load: load(figures.ingest, 35, figures.ingestCpu, figures.rss),
      },
      {
        storedEvents: 100_000,
        fill: { events: 39_517, seconds: 4.44, perSecond: 8901 },
        load: load(figures.ingest, 40, figures.ingestCpu, figures.rss + 10),
      },
    ],
  };
}

function report(backends: BackendReport[], bare: ServerLoadFigures): BenchReport {
  return {
    generatedAt: '2026-12-01T10:00:00.000Z',
    mode: 'full',
    wallSeconds: 500,
    machine: {
      cpus: 2,
      cpuModel: 'AMD EPYC',
      memoryGb: 24,
      node: 'v20.20.2',
      loadAverageAtStart: [1.5, 1, 1],
      loadAverageAtEnd: [1.6, 1, 1],
    },
    settings: { connections: 64, loadSeconds: 15, steadyRate: 1000, steadySeconds: 20 },
    bare,
    backends,
    skipped: [],
  };
}

/** The row of the table under the heading that starts with `heading`, whose text starts with `start`: whole. */
function row(section: string, heading: string, start: string): string | undefined {
  const lines = section.split('\n');
  const from = lines.findIndex((line) => line.startsWith(`### ${heading}`));
  if (from < 0) throw new Error(`no heading ${heading}`);
  const next = lines.findIndex((line, i) => i > from && line.startsWith('### '));
  return lines.slice(from, next < 0 ? undefined : next).find((line) => line.startsWith(start));
}

const INGEST = 'Durable ingest';
const STEADY = 'Steady';
const DRAIN = 'Delivery drain';
const SCALING = 'Cost as the store grows';

describe('renderBench', () => {
  const after = report(
    [
      backend('sqlite', {
        ingest: 9120,
        ingestCpu: 95,
        delivering: 6000,
        steadyP99: 8.5,
        endToEndP99: 60,
        drain: 31_000,
        drainCpu: 28,
        rss: 180,
      }),
      backend('postgres', {
        ingest: 7000,
        ingestCpu: 120,
        delivering: 5000,
        steadyP99: 12,
        endToEndP99: 140,
        drain: 21_000,
        drainCpu: 45,
        rss: 240,
      }),
    ],
    load(18_000, 8, 43, 75),
  );

  it("reports every row against issue 16's targets", () => {
    const section = renderBench(after);
    // 9120 / 18000 = 0.51: the floor is met, the aim only shown; CPU 95 µs is within 100.
    expect(row(section, INGEST, '| runner, SQLite, destination paused')).toBe(
      '| runner, SQLite, destination paused (ingest only) | 9120 | 5 | 30 | 0.51 | ≥ 0.5 (aim 0.7): met | 90 | 95 | ≤ 100 µs: met | 190 | 30 |',
    );
    expect(row(section, INGEST, '| runner, Postgres, destination paused')).toBe(
      '| runner, Postgres, destination paused (ingest only) | 7000 | 5 | 30 | 0.39 | ≥ 0.5 (aim 0.7): **missed** | 90 | 120 | ≤ 100 µs: **missed** | 190 | 30 |',
    );
    // No target is set on ingest while delivering.
    expect(row(section, INGEST, '| runner, SQLite, delivering')).toBe(
      '| runner, SQLite, delivering meanwhile | 6000 | 5 | 50 | 0.33 |  | 90 | 380 |  | 200 | 30 |',
    );
    expect(row(section, STEADY, '| SQLite |')).toBe('| SQLite | 8 | 998 | 5 | 8.5 | ≤ 10 ms: met | 20 | 60 | ≤ 100 ms: met | 0 | 90 |');
    expect(row(section, STEADY, '| Postgres |')).toBe(
      '| Postgres | 8 | 998 | 5 | 12 | ≤ 10 ms: **missed** | 20 | 140 | ≤ 100 ms: **missed** | 0 | 90 |',
    );
    expect(row(section, DRAIN, '| SQLite |')).toBe(
      '| SQLite | 100000 | 3.23 | 31000 | ≥ 30,000/s (aim 50,000/s): met | 100 | 28 | ≤ 30 µs: met | 11693/s in 8.55 s |',
    );
    expect(row(section, DRAIN, '| Postgres |')).toBe(
      '| Postgres | 100000 | 4.76 | 21000 | ≥ 20,000/s (aim 50,000/s): met | 100 | 45 | ≤ 30 µs: **missed** | 11693/s in 8.55 s |',
    );
    expect(row(section, SCALING, '| Postgres | 100000 |')).toBe(
      '| Postgres | 100000 | 7000 | 5 | 40 | 250 | met | 90 | 120 | 39517 at 8901/s |',
    );
  });

  describe('with a baseline', () => {
    // An earlier run that measured SQLite only, with its own bare-server figures and a profile.
    const sqliteBefore = backend('sqlite', {
      ingest: 4055,
      ingestCpu: 255,
      delivering: 2503,
      steadyP99: 19.45,
      endToEndP99: 43,
      drain: 9389,
      drainCpu: 111,
      rss: 178,
    });
    const baseline: BenchReport = {
      ...report(
        [
          {
            ...sqliteBefore,
            profiles: { ingest: [{ where: 'executeQuery (kysely/…/sqlite-driver.js:63)', selfMs: 9668, percent: 51.2 }], drain: [] },
          },
        ],
        load(18_400, 7.9, 44, 76),
      ),
      generatedAt: '2026-11-26T22:36:13.688Z',
      label: 'main at c18a8e2, before issue 16',
      skipped: ['Postgres (--sqlite-only)'],
    };
    const [sqliteAfter, postgresAfter] = after.backends;
    const withProfile = report(
      [
        {
          ...sqliteAfter,
          // The store grew past a size step in the new run, so the pair is at different sizes.
          scaling: [sqliteAfter.scaling[0], { ...sqliteAfter.scaling[1], storedEvents: 127_000, fill: null }],
          profiles: { ingest: [{ where: '(idle)', selfMs: 5000, percent: 40 }], drain: [] },
        },
        postgresAfter,
      ],
      after.bare,
    );
    const section = renderBench(withProfile, baseline);

    it('names the baseline run under the "Generated by" line', () => {
      const lines = section.split('\n');
      expect(lines[0]).toMatch(/^Generated by/);
      expect(lines[1]).toBe('Before: the baseline run of 2026-11-26T22:36:13.688Z (main at c18a8e2, before issue 16).');
      expect(renderBench(withProfile, { ...baseline, label: undefined }).split('\n')[1]).toBe(
        'Before: the baseline run of 2026-11-26T22:36:13.688Z.',
      );
    });

    it('shows before → after for the compared figures, the bare server included, and verdicts on the new figures', () => {
      expect(row(section, INGEST, '| bare')).toBe(
        '| bare node:http (parse the JSON, answer 200) | 18400 → 18000 | 5 | 7.9 → 8 | 1 | | 90 | 44 → 43 |  | 76 → 75 | 30 |',
      );
      // × bare: 4055 / 18400 = 0.22 before (against the baseline's own bare server), 9120 / 18000 = 0.51 after.
      expect(row(section, INGEST, '| runner, SQLite, destination paused')).toBe(
        '| runner, SQLite, destination paused (ingest only) | 4055 → 9120 | 5 | 30 → 30 | 0.22 → 0.51 | ≥ 0.5 (aim 0.7): met | 90 | 255 → 95 | ≤ 100 µs: met | 190 → 190 | 30 |',
      );
      expect(row(section, INGEST, '| runner, SQLite, delivering')).toBe(
        '| runner, SQLite, delivering meanwhile | 2503 → 6000 | 5 | 50 → 50 | 0.14 → 0.33 |  | 90 | 380 → 380 |  | 200 → 200 | 30 |',
      );
      expect(row(section, STEADY, '| SQLite |')).toBe(
        '| SQLite | 8 | 998 | 5 | 19.45 → 8.5 | ≤ 10 ms: met | 20 | 43 → 60 | ≤ 100 ms: met | 0 | 90 |',
      );
      expect(row(section, DRAIN, '| SQLite |')).toBe(
        '| SQLite | 100000 | 10.65 → 3.23 | 9389 → 31000 | ≥ 30,000/s (aim 50,000/s): met | 100 | 111 → 28 | ≤ 30 µs: met | 11693/s in 8.55 s |',
      );
      expect(row(section, SCALING, '| SQLite | 10000 |')).toBe(
        '| SQLite | 10000 | 4055 → 9120 | 5 | 35 → 35 | 178 → 180 | met | 90 | 255 → 95 | 10000 at 18604/s |',
      );
    });

    it('pairs scaling rows by position and shows differing store sizes as before → after', () => {
      expect(row(section, SCALING, '| SQLite | 100000 → 127000 |')).toBe(
        '| SQLite | 100000 → 127000 | 4055 → 9120 | 5 | 40 → 40 | 188 → 190 | met | 90 | 255 → 95 |  |',
      );
    });

    it('shows only the new figures on rows the baseline did not measure', () => {
      expect(row(section, INGEST, '| runner, Postgres, destination paused')).toBe(
        '| runner, Postgres, destination paused (ingest only) | 7000 | 5 | 30 | 0.39 | ≥ 0.5 (aim 0.7): **missed** | 90 | 120 | ≤ 100 µs: **missed** | 190 | 30 |',
      );
      expect(row(section, STEADY, '| Postgres |')).toBe(
        '| Postgres | 8 | 998 | 5 | 12 | ≤ 10 ms: **missed** | 20 | 140 | ≤ 100 ms: **missed** | 0 | 90 |',
      );
      expect(row(section, DRAIN, '| Postgres |')).toBe(
        '| Postgres | 100000 | 4.76 | 21000 | ≥ 20,000/s (aim 50,000/s): met | 100 | 45 | ≤ 30 µs: **missed** | 11693/s in 8.55 s |',
      );
      expect(row(section, SCALING, '| Postgres | 10000 |')).toBe(
        '| Postgres | 10000 | 7000 | 5 | 35 | 240 | met | 90 | 120 | 10000 at 18604/s |',
      );
    });

    it('reads – for a figure the baseline row could not measure', () => {
      const unmeasured = { ...baseline, bare: { ...baseline.bare, cpuMicrosPerWebhook: null } };
      expect(row(renderBench(withProfile, unmeasured), INGEST, '| bare')).toBe(
        '| bare node:http (parse the JSON, answer 200) | 18400 → 18000 | 5 | 7.9 → 8 | 1 | | 90 | – → 43 |  | 76 → 75 | 30 |',
      );
    });

    it('puts the hot spots before and after one after the other', () => {
      const ingest = section.slice(section.indexOf("### Where the runner's time goes: ingest, destination paused, SQLite"));
      expect(ingest.slice(ingest.indexOf('#### before'), ingest.indexOf('### Where', 10)).trimEnd()).toBe(
        [
          '#### before',
          '',
          '| % | ms | function |',
          '|--:|--:|---|',
          '| 51.2 | 9668 | `executeQuery (kysely/…/sqlite-driver.js:63)` |',
          '',
          '#### after',
          '',
          '| % | ms | function |',
          '|--:|--:|---|',
          '| 40 | 5000 | `(idle)` |',
        ].join('\n'),
      );
      // Postgres has no profile in either run: no section for it.
      expect(section).not.toContain("### Where the runner's time goes: ingest, destination paused, Postgres");
    });

    it('renders without arrows or a Before line when there is no baseline', () => {
      const alone = renderBench(withProfile);
      expect(alone).not.toContain('→');
      expect(alone).not.toContain('Before:');
      expect(alone).not.toContain('#### before');
    });
  });
});
