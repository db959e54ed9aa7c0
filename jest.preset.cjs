// Shared jest setup for every package: CommonJS jest, TypeScript and the
// ESM-only @noble packages transformed by swc, sources of sibling packages
// resolved through the "@bftx/source" export condition (no build needed).
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: {
    customExportConditions: ['@bftx/source', 'node', 'node-addons'],
  },
  transform: {
    '^.+\\.(ts|js|mjs)$': [
      require.resolve('@swc/jest'),
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/src/**/*.test.ts'],
  setupFilesAfterEnv: [path.join(__dirname, 'tools/jest/fast-check-setup.cjs')],
};
