import { settingsTable, withSettingsTable } from '@ferry/core';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { webhookPlugin } from './plugin';

it('README.md shows the settings table its schema renders (when stale: npm run docs:settings)', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
  expect(readme).toBe(withSettingsTable(readme, settingsTable(webhookPlugin.settings)));
});
