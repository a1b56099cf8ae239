import { readFileSync } from 'node:fs';
import path from 'node:path';
import { closeHttp, send, startTestRunner, tempDir, testConfig } from './testing/harness';
import type { TempDir, TestRunner } from './testing/harness';

/** The shipped monitoring (SPEC §10): it must only use metrics the runner really exports. */
const DEPLOY = path.resolve(__dirname, '../../../deploy');
const RULES = path.join(DEPLOY, 'prometheus/ferry-alerts.yml');
const DASHBOARD = path.join(DEPLOY, 'grafana/ferry-dashboard.json');

/** Ferry's metric names in a PromQL expression (every Ferry metric, Node's included, starts with ferry_). */
const metricNames = (expression: string): string[] => expression.match(/\bferry_[a-z0-9_]+\b/g) ?? [];

function ruleExpressions(): string[] {
  return [...readFileSync(RULES, 'utf8').matchAll(/^\s*expr:\s*(.+)$/gm)].map((match) => match[1]);
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
}

let dir: TempDir;
let runner: TestRunner;

beforeAll(async () => {
  dir = await tempDir();
  runner = await startTestRunner(testConfig(dir.path));
});

afterAll(async () => {
  await runner?.runner.close();
  await closeHttp();
  await dir?.remove();
});

/**
 * Every metric the runner's /metrics text declares (`# TYPE`, so a gauge with no series yet counts, such
 * as the orphaned deliveries), with a histogram's _bucket, _sum and _count series.
 */
async function exportedNames(): Promise<Set<string>> {
  const { text } = await send('GET', `${runner.runner.url}/metrics`);
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

describe('shipped monitoring', () => {
  it.each([
    ['the Prometheus rules', ruleExpressions],
    ['the Grafana dashboard', dashboardExpressions],
  ])('%s use only metric names the runner exports', async (_what, expressions) => {
    const used = new Set(expressions().flatMap(metricNames));
    expect(used.size).toBeGreaterThan(3);
    const exported = await exportedNames();
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('has a rule for each condition SPEC §10 ships', () => {
    const text = ruleExpressions().join('\n');
    for (const metric of ['ferry_destination_paused', 'ferry_deliveries', 'ferry_oldest_pending_age_seconds', 'ferry_webhooks_total'])
      expect(text).toContain(metric);
  });

  it('takes its data source from a dashboard variable', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    expect(dashboard.templating.list).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'datasource', type: 'datasource' })]),
    );
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe('${datasource}');
  });
});
