// Nx loads a generator with plain `require`, and Node 20 runs no TypeScript, so this entry compiles the
// generator (tsc: type errors stop it here) and hands over to the fresh build in dist/.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(__dirname, 'tsconfig.lib.json')], {
  stdio: 'inherit',
});
module.exports = require('./dist/index');
