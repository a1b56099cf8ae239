module.exports = { ...require('../../jest.preset.cjs'), displayName: 'store-contract', rootDir: __dirname };
