module.exports = { ...require('../../../jest.preset.cjs'), displayName: 'clevertap', rootDir: __dirname };
