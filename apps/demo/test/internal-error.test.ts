import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli';
import type * as Scenarios from '../src/scenarios';

// A scenario that fails the way a bug does (the stack overflow `basic -n 1 -p hotstuff` had).
jest.mock('../src/scenarios', () => ({
  ...jest.requireActual<typeof Scenarios>('../src/scenarios'),
  basicScenario: () => {
    throw new RangeError('Maximum call stack size exceeded');
  },
}));

test('an internal error (a bug) is not reported as a usage error: it reaches main.ts, which says so and exits 1', async () => {
  // Before: any RangeError was printed as "error: ... (run with --help for usage)" with exit code 2.
  const dir = mkdtempSync(join(tmpdir(), 'bftx-demo-'));
  try {
    let err = '';
    const io = { out: () => undefined, err: (s: string) => void (err += s), tty: false };
    await expect(main(['basic', '--out', join(dir, 'o')], io)).rejects.toThrow('Maximum call stack size exceeded');
    expect(err).not.toMatch(/for usage/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
