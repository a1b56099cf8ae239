// Runner tests start real servers, stores and child processes: generous per-test time, never asserted.
module.exports = { ...require('../../jest.preset.cjs'), displayName: 'runner', rootDir: __dirname, testTimeout: 120_000 };
