import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AnyDestinationPlugin } from '@ferry/core';
import { amplitudePlugin } from '@ferry/amplitude';
import { destinationsTable, withDestinationsTable } from './destinations-table';
import { destinationPlugins } from './plugins';

const README = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

it("README.md shows the destinations table every registered plugin's capabilities render (when stale: npm run docs:destinations)", () => {
  expect(README).toBe(withDestinationsTable(README, destinationsTable(destinationPlugins)));
});

it('has a row per registered plugin, in registry order', () => {
  const ids = destinationsTable(destinationPlugins)
    .split('\n')
    .slice(2)
    .map((row) => /^\| \[`([^`]+)`\]/.exec(row)?.[1]);
  expect(ids).toEqual(destinationPlugins.map((plugin) => plugin.id));
});

it('derives each cell from the capabilities: change one and the row says so', () => {
  const [, , row] = destinationsTable([amplitudePlugin]).split('\n');
  expect(row).toContain('| sent negative |');
  expect(row).toContain('| uncancellation, non_subscription_purchase, expiration, billing_issue, product_change, subscription_paused |');
  const changed: AnyDestinationPlugin = {
    ...amplitudePlugin,
    capabilities: { ...amplitudePlugin.capabilities, negativeRevenue: false, sandbox: 'drop', transfers: true, summary: undefined },
  };
  const [, , changedRow] = destinationsTable([changed]).split('\n');
  expect(changedRow.split(' | ').slice(1)).toEqual([
    'not described (`capabilities.summary`)',
    'sent as 0',
    'not sent',
    'not described (`capabilities.summary`)',
    'sent',
    'uncancellation, non_subscription_purchase, expiration, billing_issue, product_change, subscription_paused',
    'not described (`capabilities.summary`) |',
  ]);
});
