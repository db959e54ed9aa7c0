// Loads the regression cases of ./regressions (see regressions.test.ts): plain data, the issue
// item, a title and a RunSpec, checked with the shared suite's checks (@bftx/conformance).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegressionCase } from '@bftx/conformance';

const dir = join(__dirname, 'regressions');
export const regressionFiles: readonly [string, RegressionCase][] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as RegressionCase]);
