// npm run bench: runs every project's `bench` target one at a time, prints
// each bench's own output, then one table of all JSON summaries, and writes
// apps/bench/results/latest.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastJsonLine, renderTable, type BenchOutcome } from './collect';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const resultsFile = join(root, 'apps/bench/results/latest.json');

function projectsWithBench(): string[] {
  const r = spawnSync('npx', ['nx', 'show', 'projects', '--with-target', 'bench', '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nx show projects failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as string[]).sort();
}

function runBench(project: string): Promise<BenchOutcome> {
  return new Promise((resolve) => {
    console.log(`\n=== ${project}:bench ===`);
    const child = spawn('npx', ['nx', 'run', `${project}:bench`, '--skip-nx-cache', '--output-style=stream-without-prefixes'], { cwd: root, env: process.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('close', (code) => {
      const summary = lastJsonLine(out);
      if (code !== 0) resolve({ project, error: `exited with code ${code}` });
      else if (summary === undefined) resolve({ project, error: 'printed no JSON summary line' });
      else resolve({ project, summary });
    });
  });
}

const outcomes: BenchOutcome[] = [];
for (const project of projectsWithBench()) outcomes.push(await runBench(project));

console.log('\n' + renderTable(outcomes));
mkdirSync(dirname(resultsFile), { recursive: true });
writeFileSync(
  resultsFile,
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, results: Object.fromEntries(outcomes.map((o) => [o.project, o.summary ?? { error: o.error }])) }, null, 2) + '\n',
);
console.log(`\nwrote ${resultsFile}`);
if (outcomes.some((o) => o.error !== undefined)) process.exit(1);
