// Each planted bug must make the conformance suite fail. The mutants override
// one rule of the honest replica; nothing else changes.
import type { Block, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import { suiteFailure } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { Streamlet, streamlet, type StreamletMessage } from '../src/index';

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
function colludingForkFailure(Replica: typeof Streamlet): string | undefined {
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
  const r = sim.simulate({ protocol: streamlet({ echo: false, replica: Replica }), n: 7, seed: 1, network, timing: { delta: 10 }, duration: 20 * view, byzantine, leaderSchedule: leaders, trace: false });
  return r.safetyViolation === undefined ? undefined : `colluding fork: ${r.safetyViolation}`;
}

class MajorityQuorum extends Streamlet {
  protected override quorumSize(): number {
    return Math.floor(this.n / 2) + 1;
  }
}

class FinalizeOnTwo extends Streamlet {
  protected override finalizes(_grandparent: Block | undefined, parent: Block, block: Block): boolean {
    return parent.view + 1 === block.view;
  }
}

class VotesTwiceInAnView extends Streamlet {
  protected override mayVote(block: Block): boolean {
    return this.extendsLongestNotarized(block); // forgets "first proposal only" and "once per view"
  }
}

class SkipsLongestChainCheck extends Streamlet {
  protected override extendsLongestNotarized(): boolean {
    return true;
  }
}

class PersistsNothing extends Streamlet {
  override step(input: ProtocolInput<StreamletMessage>): ProtocolOutput<StreamletMessage>[] {
    return super.step(input).filter((o) => o.type !== 'persist');
  }
}

const mutants: Array<[string, typeof Streamlet]> = [
  ['quorum of floor(n/2)+1', MajorityQuorum],
  ['finalize on two consecutive views', FinalizeOnTwo],
  ['vote twice in a view', VotesTwiceInAnView],
  ['skip the longest-notarized-chain check', SkipsLongestChainCheck],
  ['persist nothing', PersistsNothing],
];

describe('streamlet: the conformance suite catches planted bugs', () => {
  test('the colluding-fork schedule breaks the replica that skips the longest-notarized-chain check', () => {
    expect(colludingForkFailure(SkipsLongestChainCheck)).toBeDefined();
  });

  test('the colluding-fork schedule is safe for the honest replica', () => {
    expect(colludingForkFailure(Streamlet)).toBeUndefined();
  });

  test.each(mutants)('%s', (_name, Replica) => {
    const failure = suiteFailure(streamlet({ replica: Replica }), sim, { safety: 300, evidence: 30, liveness: 20, twins: 0, classes: 20 }) ?? colludingForkFailure(Replica);
    expect(failure).toBeDefined();
    console.log(`${_name}: caught by ${failure}`);
  });
});
