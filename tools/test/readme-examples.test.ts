import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

// Every ```ts block of the READMEs (the root's, each package's and app's) type-checks against the
// packages' sources, and runs to completion unless its first line says `// not run` (issue 21: a
// new user found examples that did not type-check or used names never defined).
const root = resolve(__dirname, '../..');
const dir = join(root, '.readme-examples');
type Example = { source: string; line: number; file: string; run: boolean };
const load = async () => (await import('../readme-examples.mjs')) as { writeExamples: (dir: string) => Example[] };

let examples: Example[] = [];
beforeAll(async () => {
  examples = (await load()).writeExamples(dir);
});

test('there are examples to check, and each names its README and line', () => {
  expect(examples.length).toBeGreaterThanOrEqual(20);
  expect(examples.filter((e) => e.run).length).toBeGreaterThanOrEqual(15);
  expect(examples.map((e) => e.source)).toContain('README.md');
});

test('every README example type-checks (strict, the repo tsconfig)', () => {
  const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
  // Each diagnostic names .readme-examples/<readme>-L<line>.mts: the README and the line of the block's fence.
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 180_000);

test('every runnable README example runs to the end (exit 0)', () => {
  const failed: string[] = [];
  for (const e of examples.filter((x) => x.run)) {
    const r = spawnSync(process.execPath, ['--conditions=@bftx/source', '--import', 'tsx', e.file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) failed.push(`${e.source}:${e.line} (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-6).join('\n')}`);
  }
  expect(failed).toEqual([]);
}, 600_000);
