import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
// The .mjs tools are ESM; load them through dynamic import in a child-free way.
const load = async () => ({ ...(await import('../package-rules.mjs')), ...(await import('../new-package.mjs')) });

describe('package rules', () => {
  test('a freshly generated package passes the publishability rules', async () => {
    const { renderPackage, manifestProblems } = await load();
    const files = renderPackage({ name: 'example', type: 'core', scope: 'pure', description: 'An example package made by the generator test.' });
    expect(Object.keys(files).sort()).toEqual(
      ['LICENSE', 'README.md', 'bench/example.bench.ts', 'jest.config.cjs', 'package.json', 'src/index.ts', 'test/index.test.ts', 'tsconfig.json', 'tsup.config.ts'].sort(),
    );
    const pkg = JSON.parse(files['package.json']!);
    expect(manifestProblems(pkg)).toEqual([]);
    expect(pkg.scripts).toEqual(expect.objectContaining({ build: 'tsup', test: 'jest', bench: 'node --conditions=@bftx/source --import tsx bench/example.bench.ts' }));
    expect(pkg.nx.tags).toEqual(['type:core', 'scope:pure']);
  });

  test('--type protocol generates a working protocol (a renamed copy of Streamlet) with its conformance test: it type-checks and passes a short conformance run', async () => {
    const { renderPackage, manifestProblems } = await load();
    const files = renderPackage({ name: 'gen-check', type: 'protocol', scope: 'pure', description: 'A protocol package made by the generator test.' });
    // It was `export {}`: now the sources, the conformance test and a README on writing a protocol.
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['src/protocol.ts', 'src/rules.ts', 'src/definition.ts', 'src/safety-state.ts', 'test/index.test.ts']));
    expect(files['test/index.test.ts']).toContain('conformanceSuite(genCheck())');
    expect(files['README.md']).toContain('## Write your own protocol');
    expect(Object.values(files).join('\n')).not.toMatch(/streamlet\(|new Streamlet\b/);
    expect(manifestProblems(JSON.parse(files['package.json']!))).toEqual([]);
    // Written where it resolves like a workspace package (links to the repo's node_modules, base tsconfig and tools).
    const work = mkdtempSync(join(tmpdir(), 'bftx-new-package-'));
    try {
      for (const link of ['node_modules', 'tsconfig.base.json', 'tools', 'jest.preset.cjs', 'LICENSE']) symlinkSync(join(root, link), join(work, link));
      const dir = join(work, 'packages', 'gen-check');
      for (const [rel, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, rel)), { recursive: true });
        writeFileSync(join(dir, rel), content);
      }
      const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], { encoding: 'utf8' });
      expect(tsc.stdout + tsc.stderr).toBe('');
      writeFileSync(join(dir, 'check.mts'), "import { suiteFailure } from '@bftx/conformance';\nimport { genCheck } from './src/index';\nconsole.log(suiteFailure(genCheck(), { safety: 4, evidence: 2, liveness: 2, twins: 1, classes: 2, persisted: 1, classKinds: ['restarts'] }) ?? 'passed');\n");
      const run = spawnSync(process.execPath, ['--conditions=@bftx/source', '--import', 'tsx', 'check.mts'], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
      expect(run.stderr.trim().split('\n').slice(-5).join('\n') + run.stdout.trim()).toMatch(/passed$/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);

  test('the generator refuses bad names and kinds', async () => {
    const { renderPackage } = await load();
    expect(() => renderPackage({ name: 'Bad Name', type: 'core', scope: 'pure' })).toThrow(/lowercase/);
    expect(() => renderPackage({ name: 'ok', type: 'app', scope: 'pure' })).toThrow(/--type/);
    expect(() => renderPackage({ name: 'ok', type: 'core', scope: 'impure' })).toThrow(/--scope/);
  });

  test('the rules catch each kind of broken manifest', async () => {
    const { renderPackage, manifestProblems } = await load();
    const good = JSON.parse(renderPackage({ name: 'example', type: 'core', scope: 'io' })['package.json']!);
    const broken = (patch: (p: any) => void) => {
      const p = structuredClone(good);
      patch(p);
      return manifestProblems(p);
    };
    expect(broken((p) => (p.private = true))).toHaveLength(1);
    expect(broken((p) => (p.files = ['dist', 'src']))).toHaveLength(1);
    expect(broken((p) => delete p.exports['.'].require)).toHaveLength(1);
    expect(broken((p) => delete p.license)).toHaveLength(1);
    expect(broken((p) => (p.nx.tags = ['scope:io']))).toHaveLength(1);
  });

  test('every real package passes the manifest rules', async () => {
    const { manifestProblems } = await load();
    const dirs = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')));
    expect(dirs.length).toBeGreaterThan(0);
    for (const d of dirs) {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8'));
      expect([d, manifestProblems(pkg)]).toEqual([d, []]);
    }
  });
});
