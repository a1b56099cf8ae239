module.exports = { ...require('../../../jest.preset.cjs'), displayName: 'webhook', rootDir: __dirname };
