// The replica app ships as one ESM file: the workspace packages are bundled from their sources (so
// running it needs no package build first); registry dependencies stay external.
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { main: 'src/main.ts' },
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
