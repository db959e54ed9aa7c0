// The README code blocks, as files that can be type-checked and run (issue 21: several examples
// failed to type-check or used undefined names). Every ```ts block of the root README and of each
// package's and app's README is one example; a block whose first line is `// not run` is
// type-checked only (it starts servers or waits on a network).
//   node tools/readme-examples.mjs [dir]   writes the examples and a tsconfig into dir (default .readme-examples)
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every README the examples come from, repo-relative. */
export function readmes(root = ROOT) {
  const found = ['README.md'];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      const path = join(group, name, 'README.md');
      if (existsSync(join(root, path))) found.push(path);
    }
  }
  return found;
}

/** The ```ts blocks of one README: { source (README path), line (1-based, of the fence), code, run }. */
export function blocksOf(path, text) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i;
    const code = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) code.push(lines[i]);
    blocks.push({ source: path, line: start + 1, code: code.join('\n'), run: !/^\/\/ not run\b/.test(code[0] ?? '') });
  }
  return blocks;
}

/** Writes each example as its own module into `dir`, with a tsconfig that checks them all; returns them with their file names. */
export function writeExamples(dir, root = ROOT) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const examples = [];
  for (const path of readmes(root)) {
    for (const b of blocksOf(path, readFileSync(join(root, path), 'utf8'))) {
      const file = `${path.replace(/\/README\.md$|README\.md$/, '').replace(/[/]/g, '-') || 'root'}-L${b.line}.mts`;
      // A module of its own (top-level await allowed; names of one example never clash with another's).
      writeFileSync(join(dir, file), `// ${path}:${b.line}\n${b.code}\nexport {};\n`);
      examples.push({ ...b, file });
    }
  }
  const base = relative(dir, join(root, 'tsconfig.base.json'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: base, compilerOptions: { noUnusedLocals: false, noUnusedParameters: false }, include: ['*.mts'] }, null, 2));
  return examples;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? join(ROOT, '.readme-examples'));
  const examples = writeExamples(dir);
  console.log(`${examples.length} examples in ${relative(process.cwd(), dir) || '.'} (${examples.filter((e) => e.run).length} to run)`);
}
