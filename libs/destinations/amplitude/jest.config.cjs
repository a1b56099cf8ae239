module.exports = { ...require('../../../jest.preset.cjs'), displayName: 'amplitude', rootDir: __dirname };
