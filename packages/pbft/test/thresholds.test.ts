// Issue 15, item 1: every certificate size comes from the ValidatorSet, never from f. With n = 6
// (not 3f+1) and an equivocating primary, "prepared" at 2f prepares let two batches be prepared in
// one view by replica sets that share no honest replica, and honest replicas finalized different
// batches at one height (18 of 40 seeds). Prepared takes quorum - 1 prepares besides the primary's
// pre-prepare: any two such sets share an honest replica for every n.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate, synchronous } from '@bftx/sim';
import fc from 'fast-check';
import { defaultRules, pbft } from '../src/index';
import { clusterKeys } from './helpers';

const DELTA = 10;

describe('pbft thresholds for every n', () => {
  test('n from 4 to 13 with f equivocating replicas (the first primaries): agreement, no double signing, evidence only against them', () => {
    fc.assert(fc.property(fc.integer({ min: 4, max: 13 }), fc.nat(), fc.boolean(), (n, seed, lossless) => {
      const f = Math.floor((n - 1) / 3);
      const byzantine = Array.from({ length: f }, (_, replica) => ({ replica, strategy: { kind: 'equivocate' as const } }));
      const r = simulate({ protocol: pbft(), n, seed, network: synchronous(DELTA, lossless ? 1 : DELTA), timing: { delta: DELTA }, duration: 1500, byzantine, transactions: { every: 10, perBatch: 2 }, trace: false });
      expect(r.safetyViolation).toBeUndefined();
      expect(r.doubleSigns).toEqual([]);
      expect(r.offenders.every((o) => o < f)).toBe(true);
    }), { numRuns: bftxRuns(40) });
  });

  test('n = 6 with an equivocating primary: 20 seeds, no two honest replicas finalize different batches', () => {
    for (let seed = 1; seed <= bftxRuns(20); seed++) {
      const r = simulate({ protocol: pbft(), n: 6, seed, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 1500, byzantine: [{ replica: 0, strategy: { kind: 'equivocate' } }], transactions: { every: 10, perBatch: 2 }, trace: false });
      expect(r.safetyViolation).toBeUndefined();
      expect(r.honestFinalizedHeight).toBeGreaterThan(20);
    }
  });

  test('no threshold is computed in the replica: sizes come from ValidatorSet.threshold, counts from the tallies, decisions from the rules', () => {
    for (const file of ['pbft.ts', 'rules.ts']) {
      const source = readFileSync(join(__dirname, '../src', file), 'utf8');
      expect(source).not.toMatch(/validators\.(f|quorum|oneHonest)\b|this\.f\b|\* ?this\.f|2 \* f/);
    }
    // Prepared: the primary's pre-prepare counts as its prepare, so quorum - 1 prepares of others (3 when n = 6, not 2f = 2).
    const six = clusterKeys(6).validators;
    const quorum = six.threshold('quorum');
    expect(defaultRules.prepared({ prePrepared: true, prepares: quorum - 1, quorum, n: 6 })).toBe(true);
    expect(defaultRules.prepared({ prePrepared: true, prepares: 2, quorum, n: 6 })).toBe(false);
    expect(defaultRules.prepared({ prePrepared: false, prepares: 5, quorum, n: 6 })).toBe(false);
    expect(defaultRules.committedLocal({ prepared: true, commits: quorum - 1, quorum, n: 6 })).toBe(false);
    expect(defaultRules.committedLocal({ prepared: true, commits: quorum, quorum, n: 6 })).toBe(true);
    // Joining: the highest view f+1 others reached (f = 1 of 6: the second highest of the others).
    expect(defaultRules.joinView(2, [9, 7, 1, 0, 0], six.threshold('one-honest'))).toBe(7);
    expect(defaultRules.joinView(8, [9, 7, 1, 0, 0], six.threshold('one-honest'))).toBe(8);
  });
});
