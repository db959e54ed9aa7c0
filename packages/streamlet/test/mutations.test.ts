// Each planted bug must make the conformance suite fail. The mutants override
// one rule of the honest replica (rules.ts); nothing else changes.
import type { ProtocolDefinition } from '@bftx/consensus';
import { suiteFailure } from '@bftx/conformance';
import * as sim from '@bftx/sim';
import { streamlet, type StreamletMessage, type StreamletRules } from '../src/index';

/**
 * A colluding fork the generic suite does not reach for Streamlet. n = 7: replica 0 (Byzantine)
 * proposes on its own fork from genesis, replica 1 (Byzantine) votes for every proposal it sees.
 * View 1's proposal is lost; views 2-4 notarize a1, a2, a3, but the votes of view 4 reach only
 * replica 2: it alone finalizes a2, the other four honest replicas have nothing final. Replica 0 then
 * leads views 5-7 on its fork from genesis: honest replicas refuse it (it does not extend the
 * longest notarized chain, a2); a replica that skips that check votes for it, and with replica 1
 * the four make a quorum: three consecutive views finalize fork blocks that conflict with a1 and a2.
 * (Replica 2 never takes the fork: its tree is cut at its finalized tip. The earlier schedule forked
 * after blocks were final everywhere, which that cut now refuses by itself.)
 */
function colludingForkFailure(rules: Partial<StreamletRules>, wrap: Wrap = (p) => p): string | undefined {
  const view = 21;
  const leaders = Array.from({ length: 60 }, (_, e) => (e >= 1 && e <= 4 ? e + 1 : e >= 5 && e <= 7 ? 0 : 2 + (e % 5)));
  const network: sim.NetworkModel = {
    name: 'votes of view 3 reach replica 2 only',
    deliveries: (_from, to, now, _rng, m) => ((m.kind === 'proposal' && now >= view && now < 2 * view) || (m.vote && now >= 4 * view && now < 5 * view && to >= 3) ? [] : [now + 5]),
  };
  const byzantine = [
    { replica: 0, strategy: { kind: 'fork' as const } },
    { replica: 1, strategy: { kind: 'double-vote' as const } },
  ];
  const r = sim.simulate({ protocol: wrap(streamlet({ echo: false, rules })), n: 7, seed: 1, network, timing: { delta: 10 }, duration: 20 * view, byzantine, leaderSchedule: leaders, trace: false });
  return r.safetyViolation === undefined ? undefined : `colluding fork: ${r.safetyViolation}`;
}

type Wrap = (p: ProtocolDefinition<StreamletMessage>) => ProtocolDefinition<StreamletMessage>;

/** Not a rule: every replica forgets its safety state (its persist outputs dropped), so a restarted one starts afresh. */
const persistsNothing: Wrap = (p) => ({
  ...p,
  create(config) {
    const inner = p.create(config);
    return { self: inner.self, step: (input) => inner.step(input).filter((o) => o.type !== 'persist'), footprint: () => inner.footprint!() };
  },
});

const mutants: Array<[string, Partial<StreamletRules>, Wrap?]> = [
  ['quorum of floor(n/2)+1', { notarize: (votes, _quorum, n) => votes >= Math.floor(n / 2) + 1 }],
  ['finalize on two consecutive views', { finalize: (_grandparent, parent, block) => parent.view + 1 === block.view }],
  // Forgets "first proposal only" and "once per view".
  ['vote twice in a view', { vote: (s) => s.extendsLongestNotarized }],
  ['skip the longest-notarized-chain check', { extendsLongestNotarized: () => true }],
  ['persist nothing', {}, persistsNothing],
];

describe('streamlet: the conformance suite catches planted bugs', () => {
  test('the colluding-fork schedule breaks the replica that skips the longest-notarized-chain check', () => {
    expect(colludingForkFailure({ extendsLongestNotarized: () => true })).toBeDefined();
  });

  test('the colluding-fork schedule is safe for the honest replica', () => {
    expect(colludingForkFailure({})).toBeUndefined();
  });

  test.each(mutants)('%s', (_name, rules, wrap = (p) => p) => {
    const failure = suiteFailure(wrap(streamlet({ rules })), { safety: 300, evidence: 30, liveness: 20, twins: 0, classes: 20 }) ?? colludingForkFailure(rules, wrap);
    expect(failure).toBeDefined();
    console.log(`${_name}: caught by ${failure}`);
  });
});
