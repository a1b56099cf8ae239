#!/usr/bin/env node
// Sums every project's Jest JSON report into one plain closing line that CI reads.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const reports = [];
function walk(dir, depth) {
  if (depth > 4) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, depth + 1);
    else if (entry.name === 'test-results.json') reports.push(full);
  }
}
for (const top of ['libs', 'apps', 'tools']) {
  if (fs.existsSync(path.join(root, top))) walk(path.join(root, top), 0);
}
let passed = 0,
  failed = 0,
  skipped = 0;
for (const file of reports) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  skipped += r.numPendingTests;
}
console.log(`jest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(reports.length === 0 || failed > 0 || passed === 0 ? 1 : 0);
