module.exports = { ...require('../../jest.preset.cjs'), displayName: 'pbft', rootDir: __dirname };
