module.exports = { ...require('../../jest.preset.cjs'), displayName: 'bench-app', rootDir: __dirname };
