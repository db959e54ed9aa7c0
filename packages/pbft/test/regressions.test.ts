// Each issue-15 item fixed in PBFT has a scenario file in test/regressions: it failed on the code
// before the fix (the file's title says how) and must pass now.
import { pbft } from '../src/index';
import { loadRegressions, regressionProblem } from './replay';

describe('pbft: regression scenarios of issue 15', () => {
  test.each(loadRegressions().map((r) => [r.file, r.case] as const))('%s', (_file, c) => {
    expect(regressionProblem(pbft(), c.config)).toBeUndefined();
  });
});
