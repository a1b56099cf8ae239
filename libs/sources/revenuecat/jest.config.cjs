module.exports = { ...require('../../../jest.preset.cjs'), displayName: 'revenuecat', rootDir: __dirname };
