// bench:fairness end to end on a tiny matrix: worker processes, a progress line per cell, the JSON summary last.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { lastJsonLine } from '../src/collect';

const script = join(__dirname, '../src/fairness.ts');
const run = (args: string[]) => spawnSync(process.execPath, ['--conditions=@bftx/source', '--import', 'tsx', script, ...args], { encoding: 'utf8', cwd: join(__dirname, '..') });

test('a tiny matrix over 2 worker processes: progress on stderr, table, goals, the JSON summary as the last line', () => {
  const r = run(['--seeds', '2', '--attacks', 'censor', '--defences', 'leader', '--duration', '2000', '--jobs', '2']);
  expect(r.stderr).toContain('2 worker processes');
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/\[1\/1\] hotstuff censor x leader: EV /);
  const lines = r.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!);
  expect(lastJsonLine(r.stdout)).toEqual(summary);
  expect(summary).toMatchObject({ suite: 'fairness', protocols: ['hotstuff'], seeds: 2, runs: 4, jobs: 2 });
  expect(summary.cells).toEqual([expect.objectContaining({ attack: 'censor', defence: 'leader', protocol: 'hotstuff' })]);
  expect(r.stdout).toMatch(/runtime: [\d.]+ s wall for 4 runs on 2 worker\(s\)/);
  expect(r.stdout).toMatch(/goals: \d of 1 cells meet theirs/);
}, 180_000);

test.each([
  [['--seeds', '0'], /--seeds expects a whole number >= 1/],
  [['--protocol', 'raft'], /--protocol: expected streamlet, hotstuff, pbft or all/],
  [['--attacks', 'teleport'], /--attacks: unknown "teleport"/],
  [['--frobnicate'], /Unknown option '--frobnicate'/],
])('bad options %j: exit 2 with the reason', (args, message) => {
  const r = run(args);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
}, 60_000);
