// Regression scenarios of issue 15, as data: each file in ./regressions is a run that broke the
// Streamlet of before (safety violation, double signing, or no progress) and must pass every check
// of the shared suite now.
import { checkOutcome, runSpec } from '@bftx/conformance';
import { streamlet } from '../src/index';
import { regressionFiles } from './regression-replay';

describe('issue 15 regression scenarios (test/regressions/*.json)', () => {
  test.each(regressionFiles.map(([f, file]) => [`${f}: item ${file.item}`, file] as const))('%s', (_name, file) => {
    const protocol = streamlet();
    const r = runSpec(protocol, file.config);
    expect(checkOutcome(protocol, file.config, r)).toBeUndefined();
    for (const x of r.replicas.filter((y) => y.honest)) expect(x.footprint).toBeDefined();
    if (file.item === '10') {
      // The flood was refused, not kept: every honest replica counted the far-future messages it dropped.
      for (const x of r.replicas.filter((y) => y.honest)) expect(x.footprint!.dropped).toBeGreaterThan(1000);
    }
  });
});
