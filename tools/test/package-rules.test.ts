import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
// The .mjs tools are ESM; load them through dynamic import in a child-free way.
const load = async () => ({ ...(await import('../package-rules.mjs')), ...(await import('../new-package.mjs')) });

describe('package rules', () => {
  test('a freshly generated package passes the publishability rules', async () => {
    const { renderPackage, manifestProblems } = await load();
    const files = renderPackage({ name: 'example', type: 'protocol', scope: 'pure', description: 'An example package made by the generator test.' });
    expect(Object.keys(files).sort()).toEqual(
      ['LICENSE', 'README.md', 'bench/example.bench.ts', 'jest.config.cjs', 'package.json', 'src/index.ts', 'test/index.test.ts', 'tsconfig.json', 'tsup.config.ts'].sort(),
    );
    const pkg = JSON.parse(files['package.json']!);
    expect(manifestProblems(pkg)).toEqual([]);
    expect(pkg.scripts).toEqual(expect.objectContaining({ build: 'tsup', test: 'jest', bench: 'node --conditions=@bftx/source --import tsx bench/example.bench.ts' }));
    expect(pkg.nx.tags).toEqual(['type:protocol', 'scope:pure']);
  });

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
