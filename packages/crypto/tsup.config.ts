import { defineConfig } from 'tsup';

// ESM keeps @noble/* as dependencies. The CJS build bundles them, because
// they are ESM-only and require() of ESM is not available on every Node 20.
export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    platform: 'neutral',
  },
  {
    entry: ['src/index.ts'],
    format: ['cjs'],
    dts: true,
    sourcemap: true,
    target: 'es2022',
    platform: 'node',
    noExternal: [/^@noble\//],
  },
]);
