import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { amplitudePlugin } from '@ferry/amplitude';
import { clevertapPlugin } from '@ferry/clevertap';
import { secret } from '@ferry/core';
import { configTable, schemaTable, withConfigTable } from './config-table';
import { destinationPlugins, sourcePlugins } from './plugins';

const README = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

it('README.md shows the configuration table the config schema renders (when stale: npm run docs:config)', () => {
  expect(README).toBe(withConfigTable(README, configTable({ destinations: destinationPlugins, sources: sourcePlugins })));
});

/** The table's row for `key`, as its cells. */
function rowOf(table: string, key: string): string[] {
  const line = table.split('\n').find((candidate) => candidate.startsWith(`| \`${key}\` |`));
  if (!line) throw new Error(`no row for ${key}`);
  return line.slice(2, -2).split(' | ');
}

describe('the configuration table', () => {
  const table = configTable({ destinations: [clevertapPlugin, amplitudePlugin], sources: sourcePlugins });

  it('has every key with its default, allowed values, secret mark and meaning, from the schema', () => {
    expect(table.split('\n')[0]).toBe('| key | default | allowed | secret | meaning |');
    expect(rowOf(table, 'server.port')).toEqual(['`server.port`', '`8080`', '0 – 65535', '', 'Listen port (`0` picks a free one).']);
    expect(rowOf(table, 'server.adminToken').slice(1, 4)).toEqual(['none', 'at least 16 characters', 'yes']);
    expect(rowOf(table, 'store.url')[3]).toBe('its password');
    expect(rowOf(table, 'log.level')[2]).toBe('`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`');
  });

  it('has one row per destination key for every plugin, naming each plugin where they differ', () => {
    expect(rowOf(table, 'destinations[].id')[1]).toBe('required');
    expect(rowOf(table, 'destinations[].plugin')[2]).toBe('`clevertap`, `amplitude`');
    expect(rowOf(table, 'destinations[].concurrency').slice(1, 3)).toEqual(['`4`', '`clevertap`: 1 – 15; `amplitude`: 1 – 10']);
    expect(rowOf(table, 'destinations[].settings')[3]).toBe('the keys marked secret in it');
    expect(table).not.toContain('destinations[].settings.');
  });

  it('lists the keys of list items, and the list itself when it is described', () => {
    expect(rowOf(table, 'alerts.targets')[1]).toBe('`[]`');
    expect(rowOf(table, 'alerts.targets[].url').slice(1, 4)).toEqual(['required', '', 'yes, its path and query alone']);
  });

  it('refuses a key without a description, so every key an operator can write is documented', () => {
    const documented = z.object({ section: z.object({ limit: z.number().min(1).max(9).default(3).describe('A limit.') }) });
    expect(schemaTable(z.toJSONSchema(documented, { io: 'input' }))).toContain('| `section.limit` | `3` | 1 – 9 |  | A limit. |');
    const undocumented = z.object({ section: z.object({ limit: z.number(), token: secret(z.string()).describe('A token.') }) });
    expect(() => schemaTable(z.toJSONSchema(undocumented, { io: 'input' }))).toThrow('config key "section.limit" has no description');
  });
});
