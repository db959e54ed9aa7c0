import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

function lint(cases: Array<{ code: string; filePath: string }>): string[][] {
  // The boundaries rule needs the project graph; compute it first, as `npm run lint` does.
  execFileSync('npx', ['nx', 'show', 'projects'], { cwd: root, stdio: 'ignore' });
  const out = execFileSync(process.execPath, ['tools/lint-cases.mjs', JSON.stringify(cases)], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out);
}

interface Pkg {
  dir: string;
  name: string;
  tags: string[];
  deps: string[];
}
const packages: Pkg[] = ['packages', 'apps'].flatMap((base) =>
  existsSync(join(root, base))
    ? readdirSync(join(root, base))
        .filter((d) => existsSync(join(root, base, d, 'package.json')))
        .map((d) => {
          const pkg = JSON.parse(readFileSync(join(root, base, d, 'package.json'), 'utf8'));
          const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((n) => n.startsWith('@bftx/'));
          return { dir: `${base}/${d}`, name: pkg.name as string, tags: (pkg.nx?.tags ?? []) as string[], deps };
        })
    : [],
);
const purePackages = packages.filter((p) => p.tags.includes('scope:pure'));

/** True iff `from` depends on `to`, directly or through other packages (an import back would be a cycle). */
function dependsOn(from: Pkg, to: Pkg, seen = new Set<string>()): boolean {
  if (seen.has(from.name)) return false;
  seen.add(from.name);
  return from.deps.some((d) => d === to.name || (packages.find((p) => p.name === d) !== undefined && dependsOn(packages.find((p) => p.name === d)!, to, seen)));
}

describe('purity rules in scope:pure packages', () => {
  const impure = [
    'export const t = Date.now();',
    'export const t = new Date();',
    'export const r = Math.random();',
    'setTimeout(() => undefined, 10);',
    'export const p = process.env.X;',
    "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;",
    "import net from 'net';\nexport const n = net;",
    "import { randomBytes } from 'crypto';\nexport const r = randomBytes;",
    'export const r = globalThis.crypto.getRandomValues(new Uint8Array(4));',
    'export const n = performance.now();',
  ];

  test('there is at least one pure package to check', () => {
    expect(purePackages.length).toBeGreaterThan(0);
  });

  test.each(purePackages.map((p) => [p.dir]))('%s/src: every clock, randomness, timer and I/O use is a lint error', (dir) => {
    const results = lint(impure.map((code) => ({ code, filePath: `${dir}/src/__lint_case__.ts` })));
    results.forEach((errors, i) => expect([impure[i], errors.length > 0]).toEqual([impure[i], true]));
  });

  test.each(purePackages.map((p) => [p.dir]))('%s: the same code is allowed in tests, and pure code passes', (dir) => {
    const [inTest, pure, typeOnly] = lint([
      { code: 'export const t = Date.now();\nsetTimeout(() => undefined, 1);', filePath: `${dir}/test/__lint_case__.test.ts` },
      { code: 'export function add(a: number, b: number): number {\n  return a + b;\n}', filePath: `${dir}/src/__lint_case__.ts` },
      { code: "import type { KeyObject } from 'node:crypto';\nexport type K = KeyObject;", filePath: `${dir}/src/__lint_case__.ts` },
    ]);
    expect(inTest).toEqual([]);
    expect(pure).toEqual([]);
    expect(typeOnly).toEqual([]);
  });

  test.each(purePackages.map((p) => [p.dir]))('%s/src: importing the other pure packages raises no error at all', (dir) => {
    const others = purePackages.filter((p) => p.dir !== dir);
    const results = lint(others.map((p) => ({ code: `import * as m from '${p.name}';\nexport const x = m;`, filePath: `${dir}/src/__lint_case__.ts` })));
    const allowedByLayers = (to: Pkg) => {
      const from = packages.find((p) => p.dir === dir)!;
      const fromType = from.tags.find((t) => t.startsWith('type:'));
      // A core package imports only core packages; a protocol never imports another protocol.
      const protocolToProtocol = fromType === 'type:protocol' && to.tags.includes('type:protocol');
      return (fromType !== 'type:core' || to.tags.includes('type:core')) && !protocolToProtocol && !dependsOn(to, from);
    };
    others.forEach((p, i) => {
      if (allowedByLayers(p)) expect([p.name, results[i]]).toEqual([p.name, []]);
    });
  });
});

describe('package boundaries (@nx/enforce-module-boundaries)', () => {
  test('importing another project by relative path is an error', () => {
    const [errors] = lint([{ code: "import { x } from '../../../tools/package-rules.mjs';\nexport const y = x;", filePath: 'packages/crypto/src/__lint_case__.ts' }]);
    expect(errors).toContain('@nx/enforce-module-boundaries');
  });

  // The layering of DESIGN.md, checked for every pair of workspace packages that exist.
  const layer: Record<string, string[]> = {
    'type:core': ['type:core'],
    'type:protocol': ['type:core'],
    'type:runtime': ['type:core', 'type:protocol', 'type:runtime'],
    'type:app': ['type:core', 'type:protocol', 'type:runtime'],
  };
  const allowed = (from: Pkg, to: Pkg) => {
    const fromType = from.tags.find((t) => t.startsWith('type:'))!;
    const toType = to.tags.find((t) => t.startsWith('type:'))!;
    const layerOk = (layer[fromType] ?? []).includes(toType);
    const purityOk = !from.tags.includes('scope:pure') || to.tags.includes('scope:pure');
    return layerOk && purityOk && !dependsOn(to, from); // an import back along a dependency is a cycle
  };
  // Import targets are libraries: apps export nothing, so Nx does not resolve them by package name.
  // (Checked by hand: retagging matching-engine as type:runtime makes crypto -> matching-engine an error.)
  const pairs = packages.flatMap((from) => packages.filter((to) => to !== from && !to.dir.startsWith('apps/')).map((to) => [from, to] as const));

  (pairs.length > 0 ? test : test.skip)(`every cross-package import obeys the layers (${pairs.length} pairs)`, () => {
    const results = lint(pairs.map(([from, to]) => ({ code: `import * as m from '${to.name}';\nexport const x = m;`, filePath: `${from.dir}/src/__lint_case__.ts` })));
    pairs.forEach(([from, to], i) => {
      const flagged = results[i]!.includes('@nx/enforce-module-boundaries');
      expect(`${from.name} -> ${to.name}: ${flagged ? 'error' : 'ok'}`).toBe(`${from.name} -> ${to.name}: ${allowed(from, to) ? 'ok' : 'error'}`);
    });
  });
});
