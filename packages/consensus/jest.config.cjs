module.exports = { ...require('../../jest.preset.cjs'), displayName: 'consensus', rootDir: __dirname };
