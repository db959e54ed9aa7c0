import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

type LintCase = { code: string; filePath: string };

/**
 * Every case of this file is linted in one ESLint process (each process builds the typed program
 * again: one per test took 4 minutes of CPU). Tests register their cases while jest collects them
 * and read the rule ids that fired once `beforeAll` has run the batch.
 */
const batch: LintCase[] = [];
let results: string[][] | undefined;
function lint(cases: LintCase[]): () => string[][] {
  const start = batch.push(...cases) - cases.length;
  return () => {
    if (results === undefined) throw new Error('lint results read before the batch ran');
    return results.slice(start, start + cases.length);
  };
}
beforeAll(() => {
  // The boundaries rule needs the project graph; compute it first, as `npm run lint` does.
  execFileSync('npx', ['nx', 'show', 'projects'], { cwd: root, stdio: 'ignore' });
  // Cases go through a file: hundreds of them can pass the command line's length limit.
  const dir = mkdtempSync(join(tmpdir(), 'bftx-lint-'));
  try {
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(batch));
    results = JSON.parse(execFileSync(process.execPath, ['tools/lint-cases.mjs', join(dir, 'cases.json')], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(results).toHaveLength(batch.length);
}, 180_000);

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

  const impureIn = new Map(purePackages.map((p) => [p.dir, lint(impure.map((code) => ({ code, filePath: `${p.dir}/src/__lint_case__.ts` })))]));
  test.each(purePackages.map((p) => [p.dir]))('%s/src: every clock, randomness, timer and I/O use is a lint error', (dir) => {
    impureIn.get(dir)!().forEach((errors, i) => expect([impure[i], errors.length > 0]).toEqual([impure[i], true]));
  });

  const allowedIn = new Map(
    purePackages.map((p) => [
      p.dir,
      lint([
        { code: 'export const t = Date.now();\nsetTimeout(() => undefined, 1);', filePath: `${p.dir}/test/__lint_case__.test.ts` },
        { code: 'export function add(a: number, b: number): number {\n  return a + b;\n}', filePath: `${p.dir}/src/__lint_case__.ts` },
        { code: "import type { KeyObject } from 'node:crypto';\nexport type K = KeyObject;", filePath: `${p.dir}/src/__lint_case__.ts` },
      ]),
    ]),
  );
  test.each(purePackages.map((p) => [p.dir]))('%s: the same code is allowed in tests, and pure code passes', (dir) => {
    const [inTest, pure, typeOnly] = allowedIn.get(dir)!();
    expect(inTest).toEqual([]);
    expect(pure).toEqual([]);
    expect(typeOnly).toEqual([]);
  });

  const othersOf = (dir: string) => purePackages.filter((p) => p.dir !== dir);
  const importsIn = new Map(purePackages.map((from) => [from.dir, lint(othersOf(from.dir).map((p) => ({ code: `import * as m from '${p.name}';\nexport const x = m;`, filePath: `${from.dir}/src/__lint_case__.ts` })))]));
  test.each(purePackages.map((p) => [p.dir]))('%s/src: importing the other pure packages raises no error at all', (dir) => {
    const others = othersOf(dir);
    const results = importsIn.get(dir)!();
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
  const relative = lint([{ code: "import { x } from '../../../tools/package-rules.mjs';\nexport const y = x;", filePath: 'packages/crypto/src/__lint_case__.ts' }]);
  test('importing another project by relative path is an error', () => {
    const [errors] = relative();
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

  const pairResults = lint(pairs.map(([from, to]) => ({ code: `import * as m from '${to.name}';\nexport const x = m;`, filePath: `${from.dir}/src/__lint_case__.ts` })));
  (pairs.length > 0 ? test : test.skip)(`every cross-package import obeys the layers (${pairs.length} pairs)`, () => {
    const results = pairResults();
    pairs.forEach(([from, to], i) => {
      const flagged = results[i]!.includes('@nx/enforce-module-boundaries');
      expect(`${from.name} -> ${to.name}: ${flagged ? 'error' : 'ok'}`).toBe(`${from.name} -> ${to.name}: ${allowed(from, to) ? 'ok' : 'error'}`);
    });
  });
});
