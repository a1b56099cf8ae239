// One browser walkthrough against a real runner process: generous time per step, never asserted.
module.exports = { ...require('../../jest.preset.cjs'), displayName: 'console-e2e', rootDir: __dirname, testTimeout: 120_000 };
