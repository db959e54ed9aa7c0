// The one tsup setup of every @bftx package: ESM + CJS + .d.ts, sourcemaps, ES2022.
// `entries` maps output names to sources ({ index: 'src/index.ts', testing: 'src/testing/index.ts' });
// `bundleInCjs` lists ESM-only dependencies to bundle into the CJS build (require() of ESM is not on every Node 20).
import { defineConfig } from 'tsup';

export function library({ entries = { index: 'src/index.ts' }, bundleInCjs } = {}) {
  const common = { entry: entries, dts: true, sourcemap: true, target: 'es2022' };
  if (bundleInCjs === undefined) return defineConfig({ ...common, format: ['esm', 'cjs'], clean: true, platform: 'neutral' });
  return defineConfig([
    { ...common, format: ['esm'], clean: true, platform: 'neutral' },
    { ...common, format: ['cjs'], platform: 'node', noExternal: bundleInCjs },
  ]);
}
