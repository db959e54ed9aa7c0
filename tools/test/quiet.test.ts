import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// `npm run demo` builds through tools/quiet.mjs: nothing of a build that works, all of one that fails.
const quiet = join(__dirname, '..', 'quiet.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [quiet, ...args], { encoding: 'utf8' });

test('a command that succeeds prints nothing', () => {
  const r = run(process.execPath, '-e', "console.log('built'); console.error('warnings')");
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe('');
});

test('a command that fails prints its output and says so, with its exit code', () => {
  const r = run(process.execPath, '-e', "console.log('step 1'); console.error('TS2304: cannot find name'); process.exit(3)");
  expect(r.status).toBe(3);
  expect(r.stdout).toContain('step 1');
  expect(r.stderr).toContain('TS2304: cannot find name');
  expect(r.stderr).toMatch(/failed \(exit 3\): its output is above/);
});

test('a command that cannot start is an error with its name', () => {
  const r = run('no-such-command-bftx');
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/no-such-command-bftx: .*ENOENT/);
});
