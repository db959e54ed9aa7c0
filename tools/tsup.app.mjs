// The one tsup setup of every app: one ESM file for Node, the workspace packages bundled from their
// sources (so an app needs no package build first), registry dependencies left external (an app
// lists every registry package the bundled sources import).
import { defineConfig } from 'tsup';

export function app({ entry = 'src/main.ts' } = {}) {
  return defineConfig({
    entry: { main: entry },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    clean: true,
    sourcemap: true,
    noExternal: [/^@bftx\//],
    esbuildOptions(options) {
      options.conditions = ['@bftx/source'];
    },
  });
}
