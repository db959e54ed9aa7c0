module.exports = { ...require('../../jest.preset.cjs'), displayName: 'viz', rootDir: __dirname };
