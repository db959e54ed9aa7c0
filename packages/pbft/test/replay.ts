// Loads the regression cases of test/regressions (plain data: the issue item, a title and a
// RunSpec) and checks a run with the shared suite's checks (@bftx/conformance).
import type { ProtocolDefinition } from '@bftx/consensus';
import { runProblem, type RegressionCase, type RunSpec } from '@bftx/conformance';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadRegressions(dir = join(__dirname, 'regressions')): Array<{ file: string; case: RegressionCase }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, case: JSON.parse(readFileSync(join(dir, file), 'utf8')) as RegressionCase }));
}

/** The first problem of the run, or undefined. */
export function regressionProblem<M>(protocol: ProtocolDefinition<M>, config: RunSpec): string | undefined {
  return runProblem(protocol, config);
}
