// `npm run docs:config`: rewrites the configuration table in README.md from the runner's config schema (the
// built runner, so run it after a build). The runner's config-table.spec.ts fails while the README is stale,
// so the table never drifts from the schema.
const fs = require('node:fs');
const path = require('node:path');
const { configTable, destinationPlugins, sourcePlugins, withConfigTable } = require('@ferry/runner');

const readmePath = path.join(__dirname, '..', 'README.md');
const readme = fs.readFileSync(readmePath, 'utf-8');
const updated = withConfigTable(readme, configTable({ destinations: destinationPlugins, sources: sourcePlugins }));
if (updated !== readme) fs.writeFileSync(readmePath, updated);
console.log(`${path.relative(process.cwd(), readmePath)}: ${updated === readme ? 'up to date' : 'configuration table rewritten'}`);
