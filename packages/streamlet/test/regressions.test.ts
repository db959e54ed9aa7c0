// Regression scenarios of issue 15, as data: each file in ./regressions is a run that broke the
// Streamlet of before (safety violation, double signing, or no progress) and must pass now.
// The lead moves the replay into the shared suite; the files stay self-describing.
import { streamlet } from '../src/index';
import { problemOf, regressionFiles, replay } from './regression-replay';

describe('issue 15 regression scenarios (test/regressions/*.json)', () => {
  test.each(regressionFiles.map(([f, file]) => [`${f}: item ${file.item}`, file] as const))('%s', (_name, file) => {
    const protocol = streamlet();
    const r = replay(protocol, file);
    expect(problemOf(protocol, file, r)).toBeUndefined();
    expect(r.doubleSigns).toEqual([]);
    if (file.item === '10') {
      // The flood was refused, not kept: every honest replica counted the far-future messages it dropped.
      for (const x of r.replicas.filter((y) => y.honest)) expect(x.footprint!.dropped).toBeGreaterThan(1000);
    }
  });
});
