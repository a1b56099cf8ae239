module.exports = { ...require('../../../jest.preset.cjs'), displayName: 'braze', rootDir: __dirname };
