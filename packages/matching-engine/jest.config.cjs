module.exports = { ...require('../../jest.preset.cjs'), displayName: 'matching-engine', rootDir: __dirname };
