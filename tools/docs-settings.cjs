// `npm run docs:settings`: rewrites the settings table in every destination's and source's README.md from its
// plugin's settings schema (built packages, so run it after a build). Each plugin's readme.spec.ts fails while
// its README is stale, so the table never drifts from the schema.
const fs = require('node:fs');
const path = require('node:path');
const { settingsTable, withSettingsTable } = require('@ferry/core');

const libs = path.join(__dirname, '..', 'libs');
for (const [folder, isPlugin] of [
  ['destinations', isDestinationPlugin],
  ['sources', isSourcePlugin],
]) {
  for (const name of fs.readdirSync(path.join(libs, folder))) {
    const root = path.join(libs, folder, name);
    const readmePath = path.join(root, 'README.md');
    if (!fs.existsSync(path.join(root, 'package.json')) || !fs.existsSync(readmePath)) continue;
    const plugins = Object.values(require(root)).filter(isPlugin);
    if (plugins.length !== 1) throw new Error(`${root}: expected one exported ${folder.slice(0, -1)} plugin, found ${plugins.length}`);
    const readme = fs.readFileSync(readmePath, 'utf-8');
    const updated = withSettingsTable(readme, settingsTable(plugins[0].settings));
    if (updated !== readme) fs.writeFileSync(readmePath, updated);
    console.log(`${path.relative(process.cwd(), readmePath)}: ${updated === readme ? 'up to date' : 'settings table rewritten'}`);
  }
}

function isDestinationPlugin(value) {
  return typeof value === 'object' && value !== null && typeof value.id === 'string' && typeof value.buildRequests === 'function';
}

function isSourcePlugin(value) {
  return typeof value === 'object' && value !== null && typeof value.id === 'string' && typeof value.authenticator === 'function';
}
