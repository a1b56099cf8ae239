// `npm run docs:api`: rewrites apps/console/src/admin-api.ts, the console's types of the admin API, from the
// runner's admin route schemas (the built runner, so run it after a build). The runner's console-types.spec.ts
// fails while the file is stale, so the console's types never drift from what the API answers.
const fs = require('node:fs');
const path = require('node:path');
const { CONSOLE_TYPES_FILE, adminApiDocument, consoleTypes } = require('@ferry/runner');

const current = fs.existsSync(CONSOLE_TYPES_FILE) ? fs.readFileSync(CONSOLE_TYPES_FILE, 'utf-8') : '';
const updated = consoleTypes(adminApiDocument());
if (updated !== current) fs.writeFileSync(CONSOLE_TYPES_FILE, updated);
console.log(`${path.relative(process.cwd(), CONSOLE_TYPES_FILE)}: ${updated === current ? 'up to date' : 'rewritten'}`);
