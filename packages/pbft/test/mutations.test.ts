// Each planted bug must be caught. The mutants override one rule of the honest replica; nothing
// else changes. All are caught by the conformance suite; the last two (issue 15's) also by the
// scenarios of the items they reintroduce (the regression files).
import { suiteFailure, withoutPersistence } from '@bftx/conformance';
import * as sim from '@bftx/sim';
import { pbft, type PbftRules } from '../src/index';
import { loadRegressions, regressionProblem } from './replay';
import { cutOffScenario, leastAfterGst } from './helpers';

/** Executes as soon as the batch is prepared: committed-local without waiting for commits. */
const executeOncePrepared: Partial<PbftRules> = { committedLocal: (s) => s.prepared };

/** A new view fills every sequence number with a null batch. */
const viewChangeIgnoresPrepared: Partial<PbftRules> = { chooseReproposal: () => undefined };

/** "PBFT prepared with 2f prepares": the threshold from f, right only when n = 3f+1. */
const preparedWith2f: Partial<PbftRules> = { prepared: (s) => s.prePrepared && s.prepares >= 2 * Math.floor((s.n - 1) / 3) };

/** "PBFT timer re-armed on every view change": the timer of view v+1 runs from the replica's own view change. */
const timerOnEveryViewChange: Partial<PbftRules> = { viewChangeTimerRuns: () => true };

const mutants: Array<[string, Partial<PbftRules>]> = [
  ['execute once prepared, without commits', executeOncePrepared],
  ['view change that ignores prepared certificates', viewChangeIgnoresPrepared],
];

const regression = (item: string) => loadRegressions().find((r) => r.case.item === item)!.case;

describe('pbft: planted bugs are caught', () => {
  test.each(mutants)('%s', (name, rules) => {
    const failure = suiteFailure(pbft({ rules }), { safety: 300, evidence: 30, liveness: 20, twins: 2000 });
    expect(failure).toBeDefined();
    // Both bugs also stall progress, which the liveness property sees first; they must break safety too.
    const unsafe = suiteFailure(pbft({ rules }), { safety: 300, evidence: 0, liveness: 0, twins: 2000 });
    expect(unsafe).toMatch(/^(safety|twins): /);
    console.log(`${name}: caught by ${failure}; and by ${unsafe}`);
  });

  // The mutants, caught by the suite's generated classes (the fast-check seed is fixed: the
  // same runs every time), and by the regression files of the items they reintroduce.
  test.each([
    ['prepared with 2f prepares', preparedWith2f, 'equivocating-leaders', /^equivocating-leaders: safety: /],
    ['timer re-armed on every view change', timerOnEveryViewChange, 'cut-off', /^cut-off: liveness: /],
  ] as const)('%s: caught by a generated class', (name, rules, kind, expected) => {
    const failure = suiteFailure(pbft({ rules }), { safety: 0, evidence: 0, liveness: 0, twins: 0, classes: 40, persisted: 0, classKinds: [kind] });
    expect(failure).toMatch(expected);
    console.log(`${name}: caught by ${failure}`);
  });

  test('prepared with 2f prepares: n = 6 with an equivocating primary finalizes different batches (regression 1)', () => {
    const problem = regressionProblem(pbft({ rules: preparedWith2f }), regression('1').config);
    expect(problem).toMatch(/^safety: /);
    expect(regressionProblem(pbft(), regression('1').config)).toBeUndefined();
  });

  test('timer re-armed on every view change: one replica cut off until GST while f crash, the cluster never finalizes again (regression 5)', () => {
    expect(regressionProblem(pbft({ rules: timerOnEveryViewChange }), regression('5').config)).toMatch(/^liveness: /);
    for (const n of [4, 5, 7]) {
      expect(leastAfterGst(sim.simulate({ protocol: pbft({ rules: timerOnEveryViewChange }), ...cutOffScenario(n, n) }))).toBe(0);
      expect(leastAfterGst(sim.simulate({ protocol: pbft(), ...cutOffScenario(n, n) }))).toBeGreaterThan(100);
    }
  });
});

test('a pbft that persists nothing (issue 15): caught by the generated restart class, signing twice or finalizing a conflicting block', () => {
  const failure = suiteFailure(withoutPersistence(pbft()), { safety: 0, evidence: 0, liveness: 0, twins: 0, classes: 20, persisted: 0, classKinds: ['restarts'] });
  expect(failure).toMatch(/^restarts: safety: /);
});
