module.exports = { ...require('../../jest.preset.cjs'), displayName: 'streamlet', rootDir: __dirname };
