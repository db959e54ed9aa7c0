#!/usr/bin/env node
// The container image's build context (apps/replica/dist/image/): the replica app as one ESM file
// (every package bundled but classic-level, whose native binary cannot be), classic-level with its
// dependencies and prebuilt binaries copied from this install, and the Containerfile.
//   node apps/replica/container/build-context.mjs && podman build -t bftx-replica:0.1.0 apps/replica/dist/image
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(app, 'dist', 'image');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'node_modules'), { recursive: true });

await build({
  entryPoints: [join(app, 'src', 'main.ts')],
  outfile: join(out, 'main.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@bftx/source'],
  external: ['classic-level'],
  // Bundled CommonJS packages call require(): give the ES module one.
  banner: { js: "import { createRequire as __bftxRequire } from 'node:module'; const require = __bftxRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});

// classic-level and what it depends on, as installed (no registry needed), each package once.
const copied = new Set();
function copyPackage(name, from) {
  if (copied.has(name)) return;
  copied.add(name);
  const require = createRequire(join(from, 'noop.js'));
  const manifest = require.resolve(`${name}/package.json`);
  const dir = dirname(manifest);
  cpSync(dir, join(out, 'node_modules', name), { recursive: true, dereference: true });
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) copyPackage(dep, dir);
}
copyPackage('classic-level', app);
// An image runs Linux: the other platforms' prebuilt binaries are most of the package's size.
const prebuilds = join(out, 'node_modules', 'classic-level', 'prebuilds');
if (existsSync(prebuilds)) {
  for (const platform of readdirSync(prebuilds)) if (!platform.startsWith('linux-')) rmSync(join(prebuilds, platform), { recursive: true, force: true });
}

writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'bftx-replica-image', private: true, type: 'module' }, null, 2) + '\n');
// The data volume's mount point, owned by the image's user (COPY --chown: no shell needed in the base).
mkdirSync(join(out, 'data'));
cpSync(join(app, 'container', 'Containerfile'), join(out, 'Containerfile'));
process.stdout.write(`${out}: main.mjs, node_modules/ (${[...copied].join(', ')}), Containerfile\n`);
