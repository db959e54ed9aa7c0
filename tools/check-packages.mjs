#!/usr/bin/env node
// Checks that every package under packages/ is publishable on its own:
//  - package.json has name, version, license, exports (types/import/require), files;
//  - `npm pack` ships exactly dist/, README.md, LICENSE and package.json, and every exported path;
//  - the packed tarball, installed in an empty folder with only its declared
//    dependencies, loads from a plain .mjs (import) and a plain .cjs (require)
//    with the same exports, and runs the package's smoke scripts if it has any.
// Needs built packages (`nx run-many -t build`). Exits 1 on the first report with problems.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportedPaths, manifestProblems } from './package-rules.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const packagesDir = join(root, 'packages');
const dirs = readdirSync(packagesDir).filter((d) => existsSync(join(packagesDir, d, 'package.json')) && (only.length === 0 || only.includes(d)));
const manifests = new Map(dirs.map((d) => [d, JSON.parse(readFileSync(join(packagesDir, d, 'package.json'), 'utf8'))]));
const byName = new Map([...manifests].map(([d, m]) => [m.name, d]));

const work = mkdtempSync(join(tmpdir(), 'bftx-pack-'));
const tarballs = new Map();
let failures = 0;

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
}

function report(stage, dir, problems) {
  if (problems.length === 0) {
    console.log(`ok   ${stage.padEnd(7)} packages/${dir}`);
    return;
  }
  failures++;
  console.log(`FAIL ${stage.padEnd(7)} packages/${dir}`);
  for (const p of problems) console.log(`     - ${p}`);
}

// 1. Manifest and pack contents.
for (const [dir, pkg] of manifests) {
  const pkgDir = join(packagesDir, dir);
  const problems = manifestProblems(pkg);
  for (const f of ['README.md', 'LICENSE']) if (!existsSync(join(pkgDir, f))) problems.push(`${f} is missing`);
  if (!existsSync(join(pkgDir, 'dist'))) problems.push('dist/ is missing: build first (npx nx run-many -t build)');
  if (problems.length === 0) {
    const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], pkgDir));
    tarballs.set(pkg.name, join(work, info.filename));
    const files = info.files.map((f) => f.path);
    const stray = files.filter((f) => !(f.startsWith('dist/') || ['README.md', 'LICENSE', 'package.json'].includes(f)));
    if (stray.length) problems.push(`npm pack ships files users do not need: ${stray.join(', ')}`);
    for (const f of exportedPaths(pkg)) if (!files.includes(f)) problems.push(`exports points at ${f}, which is not in the tarball`);
    if (!files.some((f) => f.endsWith('.d.ts'))) problems.push('no type declarations in the tarball');
  }
  report("pack", dir, problems);
}
if (failures) process.exit(1);

// 2. Install each tarball alone and load it both ways.
function installInto(nodeModules, name, seen = new Set()) {
  if (seen.has(name)) return;
  seen.add(name);
  const target = join(nodeModules, name);
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarballs.get(name), '-C', target, '--strip-components=1']);
  const pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    if (byName.has(dep)) installInto(nodeModules, dep, seen);
    else if (!existsSync(join(nodeModules, dep))) {
      // Third-party dependencies come from the workspace install (same versions as the lockfile).
      mkdirSync(dirname(join(nodeModules, dep)), { recursive: true });
      symlinkSync(join(root, 'node_modules', dep), join(nodeModules, dep), 'dir');
    }
  }
}

for (const [dir, pkg] of manifests) {
  const problems = [];
  const consumer = join(work, `consumer-${dir}`);
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  installInto(join(consumer, 'node_modules'), pkg.name);
  writeFileSync(join(consumer, 'keys.mjs'), `import * as m from '${pkg.name}';\nconsole.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()));\n`);
  writeFileSync(join(consumer, 'keys.cjs'), `const m = require('${pkg.name}');\nconsole.log(JSON.stringify(Object.keys(m).sort()));\n`);
  const run = (file) => {
    try {
      return execFileSync(process.execPath, [file], { cwd: consumer, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      problems.push(`node ${file} failed: ${(e.stderr || e.message).split('\n').slice(0, 6).join(' | ')}`);
      return undefined;
    }
  };
  const esm = run('keys.mjs');
  const cjs = run('keys.cjs');
  if (esm !== undefined && cjs !== undefined) {
    if (esm !== cjs) problems.push(`ESM and CJS builds export different names:\n       esm ${esm.trim()}\n       cjs ${cjs.trim()}`);
    if (JSON.parse(esm).length === 0) problems.push('the package exports nothing');
  }
  // A package may add smoke scripts that exercise its built API.
  const smokeDir = join(packagesDir, dir, 'test', 'packed');
  if (existsSync(smokeDir)) {
    const files = readdirSync(smokeDir).filter((f) => /\.(mjs|cjs)$/.test(f));
    for (const f of files) cpSync(join(smokeDir, f), join(consumer, f));
    for (const f of files) {
      if (run(f) !== undefined) console.log(`     smoke ${f}: passed`);
    }
  }
  report("install", dir, problems);
}

rmSync(work, { recursive: true, force: true });
if (failures) process.exit(1);
console.log(`All ${manifests.size} package(s) are publishable on their own.`);
