module.exports = { ...require('../../jest.preset.cjs'), displayName: 'hotstuff', rootDir: __dirname };
