// `npm run docs:destinations`: rewrites the destinations table in README.md from each registered plugin's
// capabilities (the built runner, so run it after a build). The runner's destinations-table.spec.ts fails while
// the README is stale, so a new plugin's row appears by registering it, and no row drifts from its plugin.
const fs = require('node:fs');
const path = require('node:path');
const { destinationPlugins, destinationsTable, withDestinationsTable } = require('@ferry/runner');

const readmePath = path.join(__dirname, '..', 'README.md');
const readme = fs.readFileSync(readmePath, 'utf-8');
const updated = withDestinationsTable(readme, destinationsTable(destinationPlugins));
if (updated !== readme) fs.writeFileSync(readmePath, updated);
console.log(`${path.relative(process.cwd(), readmePath)}: ${updated === readme ? 'up to date' : 'destinations table rewritten'}`);
