module.exports = { ...require('../../jest.preset.cjs'), displayName: 'agents', rootDir: __dirname };
