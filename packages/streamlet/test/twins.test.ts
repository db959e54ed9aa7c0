// Twins (Bano et al., 2022): a validator runs as two instances with one key, which is how a
// Byzantine validator that equivocates in every possible way looks. Streamlet must stay safe,
// and the key that signed two blocks for one view is shown by evidence; no honest one is.
import fc from 'fast-check';
import { simulate, synchronous, withPartitions } from '@bftx/sim';
import { streamlet } from '../src/index';

const DELTA = 10;
const VIEW = 2 * DELTA;
const N = 4;
const TWIN = 0; // validator 0 runs twice: endpoints 0 and N (= 4)

describe('streamlet under Twins', () => {
  test('twins split across a partition: the honest side progresses, the twin is caught, nobody honest is', () => {
    const r = simulate({
      protocol: streamlet(),
      n: N,
      seed: 7,
      twins: [TWIN],
      network: withPartitions(synchronous(DELTA), [{ from: 0, until: 30 * VIEW, groups: [[0, 1], [4, 2, 3]] }]),
      timing: { delta: DELTA },
      duration: 40 * VIEW,
    });
    expect(r.verdict).toBe('safe');
    expect(r.offenders).toEqual([TWIN]);
    expect(r.replicas.filter((x) => x.validator === TWIN).every((x) => !x.honest)).toBe(true);
    expect(r.honestFinalizedHeight).toBeGreaterThan(5);
  });

  test('safety under random per-window partitions of the five endpoints', () => {
    const windowArb = fc.record({ views: fc.integer({ min: 1, max: 4 }), side: fc.array(fc.boolean(), { minLength: N + 1, maxLength: N + 1 }) });
    fc.assert(
      fc.property(fc.nat(), fc.array(windowArb, { minLength: 1, maxLength: 15 }), (seed, windows) => {
        let t = 0;
        const partitions = windows.map(({ views, side }) => {
          const groups = [side.flatMap((s, i) => (s ? [i] : [])), side.flatMap((s, i) => (s ? [] : [i]))];
          const p = { from: t, until: t + views * VIEW, groups };
          t = p.until;
          return p;
        });
        const r = simulate({ protocol: streamlet(), n: N, seed, twins: [TWIN], network: withPartitions(synchronous(DELTA), partitions), timing: { delta: DELTA }, duration: t + 10 * VIEW, trace: false });
        if (r.safetyViolation !== undefined) throw new Error(`safety violated with twins: ${r.safetyViolation}`);
        if (r.offenders.some((o) => o !== TWIN)) throw new Error(`evidence against honest replica(s): ${r.offenders.join(', ')}`);
      }),
      { numRuns: bftxRuns(150) },
    );
  });
});
