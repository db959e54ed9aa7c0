// Each issue-15 item fixed in HotStuff has a scenario file in test/regressions (plain data: the
// simulate() config less the protocol, the network as JSON): it failed on the code before the fix
// (its title says how) and must pass every check of the shared suite now. A file with maxRetained
// also requires the footprint to be reported.
import { checkOutcome, runSpec, type RegressionCase } from '@bftx/conformance';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hotstuff } from '../src/index';

const dir = join(__dirname, 'regressions');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => [file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as RegressionCase] as const);

describe('hotstuff: regression scenarios of issue 15', () => {
  test.each(cases)('%s', (_file, c) => {
    const protocol = hotstuff();
    const outcome = runSpec(protocol, c.config);
    expect(checkOutcome(protocol, c.config, outcome)).toBeUndefined();
    if (c.config.maxRetained !== undefined) for (const r of outcome.replicas) if (r.honest) expect(r.footprint).toBeDefined();
  });
});
