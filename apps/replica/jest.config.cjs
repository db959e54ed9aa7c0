module.exports = { ...require('../../jest.preset.cjs'), displayName: 'replica', rootDir: __dirname };
